"""E-mail: the channel for operators, care managers and families (outage notices, digests, reports)."""
