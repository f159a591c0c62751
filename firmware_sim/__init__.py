"""Simulated homes: devices and daily routines of an older person living alone, deterministic from a seed."""
