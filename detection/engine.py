"""The detection engine: live state of every household and when each must next be looked at.

Each household has a precomputed deadline: the earliest instant at which a community finding could
fire if nothing else happens. It is recomputed only when activity arrives, the baseline is relearned
or the blind state changes, so a tick visits only the households that are due. The same engine runs
live (scheduler tick), in offline replay and in the benchmarks; all decisions are made by the pure
functions of :mod:`detection.detector`.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from detection.baseline import Baseline, local_parts, prior_baseline, zone
from detection.detector import (
    DueFinding,
    HouseholdStatus,
    asleep_expected,
    classify,
    community_due,
    community_finding,
    decline_finding,
    help_finding,
    not_back_due,
    not_back_finding,
    stretch_start,
    utc,
)
from detection.episodes import EpisodeLog
from detection.findings import Finding
from detection.model import NO_DOOR, Profile, ProfileSource, Tuning, goes_out
from detection.occupancy import left_bed, update
from detection.rooms import DOOR, RoomMap, room_of


class HouseholdState:
    """What the engine keeps per household (small: it is held for every household)."""

    __slots__ = (
        "baseline",
        "blind",
        "check",
        "checkins",
        "door_at",
        "household",
        "last",
        "occupied",
        "out",
        "place",
        "raised",
    )

    def __init__(self, household: str, baseline: Baseline) -> None:
        self.household = household  # the engine's own key (the one string every queue refers to)
        self.baseline = baseline
        self.last: float | None = None  # newest activity (epoch seconds)
        self.place = 0  # that activity's room code (rooms.code: its room, and whether it was the main door)
        self.out = False  # the newest main-door event probably began an outing (see model.goes_out)
        self.door_at = NO_DOOR  # when that was
        self.check: float | None = None  # when this household is next looked at (its bucket entry)
        self.raised = False  # a community finding was raised for the current stretch
        self.blind = False
        self.checkins = False  # devices of this home send check-ins (so "all silent" means blind)
        self.occupied = 0  # what its presence sensors and bed pads say (detection/occupancy.py)

    @property
    def outing(self) -> bool:
        """The current stretch probably began an outing (its last activity, the main door, did)."""
        return self.out and bool(self.place & DOOR)


S = TypeVar("S", bound=HouseholdState)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One household's detection state, for the dashboard."""

    household: str
    status: HouseholdStatus
    last_activity_at: float | None
    due_at: float | None
    baseline_days: int
    trusted: bool


class Engine(Generic[S]):
    """Households, their deadlines and the findings that fall due; one per process (or per shard).

    Activity only updates a household's state and, at most once per stretch, schedules a cheap
    lower-bound look ``LOOK_AHEAD_S`` later (no finding can fire sooner); the exact deadline is worked
    out when that look falls due. Ticks cost O(households due), not O(households).

    ``new_state`` makes a household's state: a subclass of :class:`HouseholdState` lets a caller keep
    its own per-household fields on the same object (the live path does: one object per home).
    """

    @overload
    def __init__(
        self: Engine[HouseholdState],
        profiles: ProfileSource,
        episodes: EpisodeLog,
        tuning: Tuning | None = None,
        *,
        rooms: RoomMap | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self,
        profiles: ProfileSource,
        episodes: EpisodeLog,
        tuning: Tuning | None,
        new_state: Callable[[str, Baseline], S],
        *,
        rooms: RoomMap | None = None,
    ) -> None: ...

    def __init__(
        self,
        profiles: ProfileSource,
        episodes: EpisodeLog,
        tuning: Tuning | None = None,
        new_state: Callable[[str, Baseline], Any] = HouseholdState,
        *,
        rooms: RoomMap | None = None,
    ) -> None:
        self.tuning = tuning or Tuning()
        self.rooms = rooms or RoomMap()
        self._new_state = new_state
        self._profiles = profiles
        self._episodes = episodes
        self._prior = prior_baseline(0.0, self.tuning)
        self.look_ahead = min(self.tuning.night_exit_after_s, 30 * 60.0)
        self._states: dict[str, S] = {}
        # When households are next looked at: their states bucketed by minute (a list append per
        # schedule; a heap of 100k+ entries cost ~2 us a pop), the minutes in a small heap. An entry
        # is current while the state's ``check`` falls in that minute; older entries are skipped.
        self._buckets: dict[int, list[S]] = {}
        self._minutes: list[int] = []
        self._presses: list[tuple[str, float, str]] = []
        self._declines: list[Finding] = []
        self._gentle: list[Finding] = []  # not-back findings found by looks, raised at the end of the tick
        self._places: dict[tuple[str, str | None], int] = {}

    # ------------------------------------------------------------------ inputs

    def state(self, household: str) -> S:
        found = self._states.get(household)
        if found is None:
            found = self._states[household] = self._new_state(household, self._prior)
        return found

    def known(self, household: str) -> S | None:
        """The household's state if the engine has one (``state`` creates it)."""
        return self._states.get(household)

    def households(self) -> list[str]:
        return list(self._states)

    def states(self) -> Mapping[str, S]:
        """Every household's state, by household (read-only: :meth:`state` adds one)."""
        return self._states

    def __len__(self) -> int:
        return len(self._states)

    def activity(self, household: str, at: float, device: str, kind: str | None = None) -> None:
        """A person did something at ``at`` (older news than what we know is ignored); ``kind`` None:
        not known (the device's room decides whether it is the main door, see ``rooms.is_main_door``)."""
        self.activity_in(self.state(household), at, self.place(device, kind, household))

    def activity_in(self, st: S, at: float, place: int) -> None:
        """:meth:`activity` for a state already looked up, and the activity's room code (the live
        path's loop over 20k homes a minute)."""
        last = st.last
        if last is not None and at <= last:
            return
        if place & DOOR:  # only a main-door event can begin an outing (model.goes_out)
            st.out = last is None or goes_out(at - last, bool(st.place & DOOR), at - st.door_at, st.out)
            st.door_at = at
        st.place = place
        st.last = at
        st.raised = False
        look = at + self.look_ahead
        check = st.check
        if check is None or check > look:
            self._schedule(st, look)

    def occupancy(self, household: str, at: float, device: str, occupied: bool) -> None:
        """A presence sensor or bed pad reported occupied (activity, too) or clear at ``at``. Getting out
        of bed while sleep is expected restarts the quiet stretch (judged by the out-of-bed rule)."""
        st = self.state(household)
        place = self.place(device, "occupancy", household)
        room = room_of(place)
        _, minute, _ = local_parts(at, zone(self._profiles.profile(household).tz))
        bedtime = asleep_expected(minute, st.baseline, int(self.tuning.bedroom_evening_s // 60))
        old = st.occupied
        st.occupied = update(old, room, occupied, bedtime)
        if occupied or left_bed(old, st.occupied):
            self.activity_in(st, at, place)
        elif st.occupied != old:
            self.recheck(household, at)

    def press(self, household: str, at: float, device: str) -> None:
        """The help button was pressed: an urgent finding on the next tick, whatever else holds."""
        self._presses.append((household, at, device))
        self.activity(household, at, device)

    def relearned(self, household: str, baseline: Baseline, now: float) -> None:
        st = self.state(household)
        st.baseline = baseline
        self.recheck(household, now)
        if baseline.decline is not None and baseline.trusted:
            tz = self._profiles.profile(household).tz
            self._declines.append(decline_finding(household, baseline.decline, st.last, tz, now))

    def set_blind(self, household: str, blind: bool, now: float, *, checkins: bool | None = None) -> None:
        st = self.state(household)
        if checkins is not None:
            st.checkins = checkins
        if st.blind != blind:
            st.blind = blind
            self.recheck(household, now)

    def recheck(self, household: str, now: float) -> None:
        """Work this household's deadline out again on the next tick (baseline, profile or blind changed)."""
        st = self.state(household)
        if st.check is None or st.check > now:
            self._schedule(st, now)

    # ------------------------------------------------------------------ ticking

    def pending(self) -> bool:
        """Whether something must be raised on the very next tick (button, decline)."""
        return bool(self._presses or self._declines or self._gentle)

    def next_look(self) -> float:
        """When the next household must be looked at; inf when none."""
        minutes = self._minutes
        while minutes:
            m = minutes[0]
            checks = [c for st in self._buckets[m] if (c := st.check) is not None and c // 60 == m]
            if checks:
                return min(checks)
            heapq.heappop(minutes)
            del self._buckets[m]
        return math.inf

    def due_count(self, now: float) -> int:
        """How many households are due to be looked at by ``now`` (for measurements)."""
        due: set[str] = set()
        for m, bucket in self._buckets.items():
            due.update(
                st.household for st in bucket if (c := st.check) is not None and c // 60 == m and c <= now
            )
        return len(due)

    def presses(self, now: float) -> list[Finding]:
        """Help-button findings of the presses given since the last call (each press once)."""
        found: list[Finding] = []
        for household, at, device in self._presses:
            finding = help_finding(household, at, device, self._profiles.profile(household).tz, now)
            if self._episodes.add(finding):
                found.append(finding)
        self._presses.clear()
        return found

    def tick(self, now: float) -> list[Finding]:
        """Findings newly raised at ``now`` (each episode once): presses first."""
        found = self.presses(now)
        for finding in self._declines:
            if self._episodes.add(finding):
                found.append(finding)
        self._declines.clear()
        minutes, buckets, this_minute = self._minutes, self._buckets, int(now // 60)
        while minutes and minutes[0] <= this_minute:
            m = minutes[0]
            bucket = buckets[m]
            if m < this_minute:  # every current entry of an earlier minute is due
                heapq.heappop(minutes)
                del buckets[m]
                keep = None
            else:  # this minute: entries after ``now`` stay (so do those scheduled meanwhile)
                keep = buckets[m] = []
            for st in bucket:
                check = st.check
                if check is None or check // 60 != m:
                    continue  # superseded (or already looked at)
                if check > now and keep is not None:
                    keep.append(st)
                    continue
                st.check = None
                fired = self._look(st, now)
                if fired is not None and self._episodes.add(fired):
                    found.append(fired)
            if keep is not None:
                if not keep:
                    heapq.heappop(minutes)
                    del buckets[m]
                break
        for finding in self._gentle:
            if self._episodes.add(finding):
                found.append(finding)
        self._gentle.clear()
        return found

    def due(self, household: str, now: float) -> DueFinding | None:
        """The community finding this household's current stretch leads to, and when (None: none)."""
        st = self.state(household)
        if st.last is None or st.raised or st.blind:
            return None
        profile = self._profiles.profile(household)
        start, after_away = stretch_start(st.last, profile, now)
        room = room_of(st.place)
        return community_due(
            start, st.outing or after_away, st.baseline, profile, self.tuning, room, st.occupied
        )

    def place(self, device: str, kind: str | None = None, household: str | None = None) -> int:
        """The room code of an activity of ``device`` (its room, and whether it is the main door; cached
        unless the household's own rooms are given)."""
        if household is not None and self.rooms.gives(household):
            return self.rooms.place(device, kind, household)
        key = (device, kind)
        found = self._places.get(key)
        if found is None:
            found = self._places[key] = self.rooms.place(device, kind)
        return found

    def _schedule(self, st: S, at: float) -> None:
        if at == math.inf:  # never: looked at again when something changes
            st.check = None
            return
        st.check = at
        minute = int(at // 60)
        bucket = self._buckets.get(minute)
        if bucket is None:
            self._buckets[minute] = [st]
            heapq.heappush(self._minutes, minute)
        else:
            bucket.append(st)

    def _look(self, st: S, now: float) -> Finding | None:
        last = st.last
        if last is not None and last + self.look_ahead > now:
            # Active since this look was scheduled: nothing can fall due before another look_ahead.
            self._schedule(st, last + self.look_ahead)
            return None
        household = st.household
        due = self.due(household, now)
        profile = self._profiles.profile(household)
        gentle = self._not_back(st, profile, now)
        if due is None or st.last is None:
            self._schedule(st, gentle)
            return None
        if due.at > now:
            self._schedule(st, min(due.at, gentle))
            return None
        away = profile.away_at(utc(now))
        if away is not None:
            # suppressed while away; the stretch restarts (as probably out) when the period ends
            self._schedule(st, min(away.end.timestamp(), gentle))
            return None
        st.raised = True
        finding = community_finding(household, due, st.last, st.baseline, profile, now)
        if self._episodes.seen(household, finding.episode):
            return None  # raised before a restart
        return finding

    def _not_back(self, st: S, profile: Profile, now: float) -> float:
        """Queue the not-back finding of a care-calendar absence if it is due (once per occurrence);
        when the pending one falls due (inf: none pending)."""
        last = st.last
        if last is None or st.blind:
            return math.inf
        pending = not_back_due(last, profile, self.tuning, now)
        if pending is None:
            return math.inf
        at, window = pending
        if at > now:
            return at
        if profile.away_at(utc(now)) is None:
            finding = not_back_finding(st.household, window, last, profile.tz, now)
            if not self._episodes.seen(st.household, finding.episode):
                self._gentle.append(finding)
        return math.inf

    # ------------------------------------------------------------------ reading

    def snapshot(self, household: str, now: float) -> Snapshot:
        st = self.state(household)
        profile = self._profiles.profile(household)
        due = self.due(household, now)
        status = classify(st.last, due, st.raised, st.blind, profile, now)
        return Snapshot(
            household,
            status,
            st.last,
            None if due is None else due.at,
            st.baseline.days,
            st.baseline.trusted,
        )
