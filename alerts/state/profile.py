"""Household profiles for detection, read from the state: time zone, night-exit opt-in, away periods.

:class:`StateProfiles` is the state's adapter of detection's ``ProfileSource`` port.
"""

from __future__ import annotations

from datetime import datetime

from alerts.detection.model import AwayPeriod, Profile
from alerts.state.repository import StateRepository


class StateProfiles:
    def __init__(self, repo: StateRepository, default_time_zone: str = "Asia/Tokyo") -> None:
        self._repo = repo
        self._default_tz = default_time_zone

    def profile(self, household: str) -> Profile:
        """The household's profile; an unknown household gets the defaults (never an error)."""
        h = self._repo.household(household)
        if h is None:
            return Profile(household, self._default_tz)
        away = tuple(AwayPeriod(p.start, p.end, p.set_by) for p in self._repo.away_periods(household))
        return Profile(household, h.time_zone, h.night_exit_opt_in, away)

    def away(self, household: str, now: datetime) -> AwayPeriod | None:
        """The away period covering ``now``, if any (for the dashboard and tests)."""
        return self.profile(household).away_at(now)
