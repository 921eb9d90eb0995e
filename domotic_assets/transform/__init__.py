"""Pure Bronze -> Silver transforms (no Dagster, no database): readings, duplicates, outliers."""
