"""Mimamori core: the wire contract, configuration, clock and broker adapter shared by every stage."""
