"""The PostgreSQL warehouse: the embedded private server, connections and schema DDL."""
