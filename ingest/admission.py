"""Registry at the edge: ingest accepts messages only from registered households and their gateways.

The registry (``[alerts] state_path``, filled by ``mimamori households import``) is read at start and
again every ``refresh_s`` seconds, so a household registered or deleted reaches ingest within that
time without a restart. A household listed without ``gateways:`` accepts any gateway id of its own
(the broker's ACL already confines it to its own topics); one with gateways accepts only those.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from mimamori.contract import Reason
from mimamori.sqlite import DatabaseError
from registry.repository import Registry

log = logging.getLogger(__name__)

Admitted = Mapping[str, frozenset[str]]
"""Registered household → its registered gateways (empty: any of its gateways)."""


def refusal(admitted: Admitted, household: str, gateway: str) -> Reason | None:
    """Why a message of ``household``/``gateway`` is refused, or None when it is admitted."""
    gateways = admitted.get(household)
    if gateways is None:
        return Reason.UNKNOWN_HOUSEHOLD
    if gateways and gateway not in gateways:
        return Reason.UNKNOWN_GATEWAY
    return None


class Admission:
    """The registered households as ingest sees them; :meth:`current` re-reads when due."""

    def __init__(
        self, registry_path: Path, refresh_s: float = 30.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._path = registry_path
        self._refresh_s = refresh_s
        self._monotonic = monotonic
        self._admitted: Admitted = {}
        self._read_at: float | None = None

    def current(self) -> Admitted:
        now = self._monotonic()
        if self._read_at is None or now - self._read_at >= self._refresh_s:
            self._read_at = now
            self._admitted = self._read(self._admitted)
        return self._admitted

    def _read(self, previous: Admitted) -> Admitted:
        if not self._path.exists():
            log.warning("ingest.registry_missing path=%s every message is refused as unknown", self._path)
            return {}
        registry = Registry(self._path)
        try:
            registry.open()
            admitted = registry.admission()
        except DatabaseError as exc:
            log.warning("ingest.registry_unreadable path=%s keeping_previous=true error=%s", self._path, exc)
            return previous
        finally:
            registry.close()
        if len(admitted) != len(previous):
            log.info("ingest.registry_read households=%s", len(admitted))
        return admitted
