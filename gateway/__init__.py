"""The home gateway: local sensor messages → canonical events → durable outbox → upstream at QoS 1."""
