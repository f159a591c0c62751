"""The platform watchdog: a process of its own that tells the operators when Mimamori stops watching."""
