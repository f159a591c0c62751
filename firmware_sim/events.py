"""The simulator's output record: one sensor report, with the true time and the time the device claims."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from mimamori import contract

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def to_datetime(ms: int) -> datetime:
    """Integer epoch milliseconds → aware UTC datetime (exact)."""
    return EPOCH + timedelta(milliseconds=ms)


def to_ms(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    return (at - EPOCH) // timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class SimEvent:
    """A report from one device. ``at`` is when it really happened (and is sent); ``observed`` is the
    timestamp the device puts on it (different only under clock skew). Both in epoch milliseconds."""

    at: int
    household: str
    device: str
    kind: contract.Kind
    value: float
    observed: int

    @property
    def observed_at(self) -> datetime:
        return to_datetime(self.observed)

    def envelope(self, gateway: str, seq: int) -> contract.Event:
        """The canonical envelope a gateway would publish for this report."""
        observed_at = self.observed_at
        return contract.Event(
            message_id=contract.message_id_for(
                self.household, self.device, self.kind, self.value, observed_at
            ),
            household=self.household,
            gateway=gateway,
            device=self.device,
            kind=self.kind,
            value=self.value,
            observed_at=observed_at,
            seq=seq,
        )
