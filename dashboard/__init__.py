"""The care managers ' web dashboard (aiohttp)."""
