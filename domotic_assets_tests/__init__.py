"""Tests of the domotic platform, against real PostgreSQL and MariaDB servers."""
