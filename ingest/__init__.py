"""Ingest: subscribe, validate against the contract, store idempotently, acknowledge after durability."""
