"""Chatty climate sensors, thinned: at most one reading per device and kind every ``every`` unless the
value moved by a step (docs/climate.md). Pure: ``thin`` decides, ``remember`` is called once the batch
is durable, so a batch written again after a store error is judged the same way.

Thinned readings are not stored, but their ``seq`` counts as seen and they are acknowledged to the
gateway (they are handled: let go on purpose), and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Final

from mimamori.config import ClimateConfig
from mimamori.contract import Event, Kind
from store.base import IngestBatch

STEPS: Final = {Kind.TEMPERATURE: 0.3, Kind.HUMIDITY: 3.0}
"""A change this large is stored at once (°C, % RH): the defaults of ``[climate]``."""

Kept = dict[str, tuple[float, float]]
"""``household/device/kind`` → (value, epoch seconds) of the newest reading stored."""


@dataclass(slots=True)
class ClimateThinner:
    every: timedelta = timedelta(minutes=15)
    steps: dict[Kind, float] = field(default_factory=lambda: dict(STEPS))
    kept: Kept = field(default_factory=dict)

    @classmethod
    def configured(cls, config: ClimateConfig) -> ClimateThinner:
        """The thinner of ``[climate]`` (``thin_every_min``, ``thin_step_c``, ``thin_step_pct``)."""
        steps = {Kind.TEMPERATURE: config.thin_step_c, Kind.HUMIDITY: config.thin_step_pct}
        return cls(timedelta(minutes=config.thin_every_min), steps)

    def thin(self, batch: IngestBatch) -> tuple[IngestBatch, Kept]:
        """The batch with redundant climate readings moved to ``thinned``, and what to remember once it
        is durable."""
        every = self.every.total_seconds()
        store: list[Event] = []
        thinned: list[Event] = []
        updates: Kept = {}
        for event in batch.events:
            step = self.steps.get(event.kind)
            if step is None:
                store.append(event)
                continue
            key = f"{event.household}/{event.device}/{event.kind.value}"
            at = event.observed_at.timestamp()
            last = updates.get(key) or self.kept.get(key)
            if last is not None and abs(event.value - last[0]) < step and 0 <= at - last[1] < every:
                thinned.append(event)
                continue
            store.append(event)
            updates[key] = (event.value, at)
        if not thinned:
            return batch, updates
        return replace(batch, events=store, thinned=(*batch.thinned, *thinned)), updates

    def remember(self, updates: Kept) -> None:
        self.kept.update(updates)
