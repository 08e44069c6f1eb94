"""A local stand-in for the Analytics Engine SQL API, backed by embedded ClickHouse (chdb)."""
