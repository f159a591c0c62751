"""What the escalation engine is configured with (validated from ``[alerts]`` by the service)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from escalation.models import SnapshotContact
from registry.models import ContactChannel


@dataclass(frozen=True, slots=True)
class EngineSettings:
    public_url: str  # where one-tap links point
    link_secret: bytes
    link_ttl: timedelta = timedelta(hours=24)
    operators: tuple[SnapshotContact, ...] = ()
    blind_hold_minutes: int = 5
    mass_blind_threshold: int = 20
    time_zone: str = "Asia/Tokyo"
    channels: frozenset[ContactChannel] = frozenset({ContactChannel.SMS})  # the configured ones
    receipts: frozenset[ContactChannel] = frozenset()  # channels whose provider reports delivery
