"""Household profiles for detection from the alerts state (time zone, opt-ins, away periods and the
care calendar's absences around now, the care manager's sensitivity, the outcomes learned from)."""

from __future__ import annotations

from datetime import datetime, timedelta

from detection.learning import SENSITIVITY_FACTORS
from detection.model import AwayWindow, Profile, Tuning
from mimamori.clock import Clock
from registry.calendar import occurrences
from registry.models import CalendarEntry, Feedback, Sensitivity, Switch
from registry.repository import Registry

RECENT_AWAY = timedelta(days=2)  # away periods that ended this recently still shape the current stretch
CALENDAR_AHEAD = timedelta(days=2)  # calendar absences this far ahead are in the profile


def calendar_windows(entries: list[CalendarEntry], tz: str, now: datetime) -> tuple[AwayWindow, ...]:
    """The care calendar's absences from ``RECENT_AWAY`` before ``now`` to ``CALENDAR_AHEAD`` after."""
    return tuple(
        AwayWindow(o.start, o.end, "calendar", o.key, o.entry.label)
        for o in occurrences(entries, tz, now - RECENT_AWAY, now + CALENDAR_AHEAD)
    )


class StateProfiles:
    """:class:`~detection.model.ProfileSource` over the registry, cached for ``ttl_s``.

    A care manager's new away period reaches detection within ``ttl_s`` (default one tick), or at
    once through :meth:`forget` (and ``Engine.recheck``).
    """

    def __init__(
        self,
        repo: Registry,
        clock: Clock,
        default_tz: str = "Asia/Tokyo",
        ttl_s: float = 60.0,
        feedback_s: float = Tuning().learn_decay_s,
    ) -> None:
        self._repo = repo
        self._feedback_s = timedelta(seconds=feedback_s)  # outcomes older than this no longer count
        self._clock = clock
        self._default_tz = default_tz
        self._ttl = ttl_s
        self._cache: dict[str, tuple[float, Profile]] = {}
        self._learned: tuple[float, dict[str, Sensitivity], dict[str, list[Feedback]]] | None = None

    def profile(self, household: str) -> Profile:
        now = self._clock.now()
        cached = self._cache.get(household)
        if cached is not None and now.timestamp() - cached[0] < self._ttl:
            return cached[1]
        sensitivities, feedback = self._learning(now)
        row = self._repo.household(household)
        tz = row.time_zone if row is not None else self._default_tz
        away = tuple(
            AwayWindow(p.start, p.end, p.set_by)
            for p in self._repo.away_periods(household, now=now - RECENT_AWAY)
        ) + calendar_windows(self._repo.calendar(household), tz, now)
        profile = Profile(
            household,
            tz=tz,
            night_exit_enabled=row is not None and row.night_exit_opt_in,
            away=away,
            evening_check=Switch.AUTO if row is None else row.evening_check,
            sensitivity=SENSITIVITY_FACTORS[sensitivities.get(household, Sensitivity.STANDARD)],
            feedback=tuple(feedback.get(household, ())),
        )
        self._cache[household] = (now.timestamp(), profile)
        return profile

    def _learning(self, now: datetime) -> tuple[dict[str, Sensitivity], dict[str, list[Feedback]]]:
        """Every household's sensitivity and outcomes, read for all at once every ``ttl_s`` (few rows:
        households set apart from standard, incidents closed in the last weeks)."""
        if self._learned is None or now.timestamp() - self._learned[0] >= self._ttl:
            fresh = self._repo.sensitivities(), self._repo.all_feedback(now - self._feedback_s)
            self._learned = (now.timestamp(), *fresh)
        return self._learned[1], self._learned[2]

    def forget(self, household: str) -> None:
        self._cache.pop(household, None)
