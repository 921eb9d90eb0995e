"""Who may see which apartment's rows, from pidb's occupancy roles (pure: no database, no Dagster)."""
