"""The reference tables of `pidb` as the contract fixes them (shared/contracts/pidb.md): which tables the
warehouse imports; their columns are in `ingest.pidb_schema`."""

REFERENCE_TABLES = (
    "building_types",
    "buildings",
    "rooms",
    "devices",
    "sensors",
    "di_errors",
    "energy_profiles",
    "tariffs",
    "parameters",
    "occupancy_roles",
)
"""The ten tables the warehouse imports, in dependency order. `users` is deliberately not among them."""
