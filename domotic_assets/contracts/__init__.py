"""Pure readers of the source contracts in shared/contracts: no Dagster, no I/O beyond bytes."""
