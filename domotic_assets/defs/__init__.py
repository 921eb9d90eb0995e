"""Dagster glue, one folder per domain. Business logic lives in the plain modules beside `defs/`."""
