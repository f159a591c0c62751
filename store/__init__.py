"""Time-series storage: the Store port (:mod:`store.base`) and its adapters (SQLite, InfluxDB)."""
