"""Tests of the domotic platform, against real PostgreSQL, MariaDB, Samba, OpenSSH sftp and a real browser."""
