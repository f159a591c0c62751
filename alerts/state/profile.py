"""The household profile port: what detection needs to know about a household beyond its sensors."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from alerts.state.models import AwayPeriod
from alerts.state.repository import StateRepository


class HouseholdProfile(Protocol):
    def away(self, household: str, now: datetime) -> AwayPeriod | None:
        """The away period covering ``now`` (set by a care manager, the resident or a contact), if any."""
        ...

    def night_exit_enabled(self, household: str) -> bool:
        """Whether the household opted in to night-exit findings (off by default)."""
        ...


class StateProfile:
    """:class:`HouseholdProfile` read from the state repository."""

    def __init__(self, repo: StateRepository) -> None:
        self._repo = repo

    def away(self, household: str, now: datetime) -> AwayPeriod | None:
        for period in self._repo.away_periods(household, now=now):
            if period.start <= now < period.end:
                return period
        return None

    def night_exit_enabled(self, household: str) -> bool:
        h = self._repo.household(household)
        return h is not None and h.night_exit_opt_in
