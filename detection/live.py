"""The live path: an APScheduler job ticking the detection engine from the store's live state.

Use from the alerts process::

    detector = LiveDetector(store, profiles, SqliteEpisodes(path), clock)
    detector.open()                      # loads raised episodes (restart-proof dedup)
    detector.schedule(scheduler)         # every 60 s; or call detector.tick(now) yourself
    for finding in detector.pending():   # raised but not yet acknowledged (survives restarts)
        open_incident(finding)           # idempotent on (household, episode)
    detector.ack(findings)

Each tick: the households whose live state changed since the last tick (``activity_changes``,
O(changed)) update the engine; households are relearned daily, staggered, from the store; offline
gateways and homes whose every sensor has gone silent are looked at on the tick, every home's
devices round-robin (once per ``sweep_ticks``); the engine raises what is due. A household is
judged only once it has a baseline learned since start-up, so a restart never judges anyone by the
priors.
"""

from __future__ import annotations

import logging
import math
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from sys import intern
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from detection.baseline import Baseline, learn
from detection.climate import ClimateTuning, climate_tuning_from
from detection.climate_live import ClimateDetector
from detection.detector import HouseholdStatus, blind_kind, technical_findings
from detection.engine import Engine, HouseholdState
from detection.episodes import SqliteEpisodes, retention_start
from detection.findings import Explanation, Finding, FindingKind, Severity
from detection.heat_alerts import HeatAlertDays, heat_alerts_for
from detection.model import ProfileSource, TechnicalView, Tuning, tuning_from
from detection.occupancy import KNOWN, occupied_in
from detection.profiles import StateProfiles
from detection.rooms import RoomMap, room_of
from mimamori.clock import Clock
from mimamori.config import Config
from mimamori.contract import Event, Kind
from registry.repository import Registry
from store.base import (
    ActivityReader,
    ClimateReader,
    GatewayLiveState,
    LiveChanges,
    SeqGapReader,
    StoreError,
)

log = logging.getLogger(__name__)

JOB_ID = "mimamori-detection-tick"
ACTIVITY_KINDS = frozenset({Kind.MOTION, Kind.DOOR, Kind.POWER, Kind.BUTTON, Kind.OCCUPANCY})
DAY = 86400.0
PRESS_WINDOW_S = 3600.0  # a help-button press older than this when first seen is not raised


class DetectionStore(ActivityReader, LiveChanges, Protocol):
    """The store as detection reads it: the ActivityReader port, the reads that cost O(changed)
    (each tick), and raw events (for door events)."""

    def events(self, household: str, start: datetime, end: datetime) -> list[Event]: ...


@dataclass(frozen=True, slots=True)
class LiveSettings:
    interval_s: int = 60
    misfire_grace_s: int = 30
    sweep_ticks: int = 120  # every household's devices are checked once per this many ticks (see below)
    relearn_budget_s: float = 2.0  # at most this long relearning per tick (start-up catches up)
    platform_stale_s: float = 15 * 60.0  # no heartbeat from any gateway for this long: we are blind


class LiveDetector:
    def __init__(
        self,
        store: DetectionStore,
        profiles: ProfileSource,
        episodes: SqliteEpisodes,
        clock: Clock,
        tuning: Tuning | None = None,
        settings: LiveSettings | None = None,
        rooms: RoomMap | None = None,
        climate: ClimateTuning | None = None,
        heat_alerts: HeatAlertDays | None = None,
    ) -> None:
        self.tuning = tuning or Tuning()
        self.settings = settings or LiveSettings()
        self._store = store
        self._profiles = profiles
        self._episodes = episodes
        self._clock = clock
        self.engine = Engine(profiles, episodes, self.tuning, LiveState, rooms=rooms)
        self._cursor: int | None = None  # the store's change number read up to (None: read all)
        self._relearn = _MinuteQueue()  # households by when they are next relearned
        self._silence = _MinuteQueue()  # households by when their newest event is sensors_silent old
        self._pressed: dict[tuple[str, str], float] = {}  # (household, button) -> newest press handled
        self._offline_homes: set[str] = set()  # homes with a gateway offline at the last tick
        self._sweep = 0
        self._sweep_order: list[str] = []  # every household, in the order the sweep walks them
        self._platform_blind = False
        self._handed: list[Finding] = []  # returned by the last tick: acknowledged by the next one
        self._climate_handed: list[Finding] = []  # ... by the last climate pass: by the next one
        self.ticks = 0
        self.climate = (
            ClimateDetector(
                store, store.devices_of, profiles, self.engine.rooms, climate, heat_alerts=heat_alerts
            )
            if isinstance(store, ClimateReader)
            else None
        )

    def open(self) -> None:
        self._episodes.open(since=retention_start(self._clock.now()))

    def close(self) -> None:
        self._episodes.close()

    # ------------------------------------------------------------------ scheduling

    def schedule(self, scheduler: Any) -> Any:
        """Add the tick to an APScheduler 3 scheduler (stable id, one instance, coalesced)."""
        return scheduler.add_job(
            self.run_tick,
            "interval",
            seconds=self.settings.interval_s,
            id=JOB_ID,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=self.settings.misfire_grace_s,
            next_run_time=self._clock.now(),
        )

    def run_tick(self) -> list[Finding]:
        return self.tick(self._clock.now())

    # ------------------------------------------------------------------ the tick

    def tick(self, now: datetime) -> list[Finding]:
        """Findings newly raised at ``now``, recorded in the episode log before they are returned.

        Calling ``tick`` again acknowledges the findings the previous call returned; the first tick
        after a start also returns those a previous process raised but never saw acknowledged.
        """
        t = now.timestamp()
        # The caller handled the last tick's findings before asking again (the alerts service opens
        # incidents synchronously in its tick); after a restart, whatever was raised but never
        # handed over is handed over once more (opening an incident is idempotent per household+kind).
        redeliver = self._episodes.pending() if self.ticks == 0 else []
        self._episodes.ack(self._handed)
        self._handed = []
        self.ticks += 1
        try:
            urgent = self._read_activity(t)
            self._read_presses(t)
            self._relearn_due(t)
            gateways = self._store.gateway_summary()
        except StoreError as exc:
            if not exc.retryable:
                raise
            log.warning("detection.tick_skipped reason=store_busy error=%s", exc)
            self._handed = list(redeliver)
            return list(redeliver)  # the next tick catches up: state is read from the store
        found: list[Finding] = list(redeliver)
        if not self._platform_check(gateways.latest_heartbeat_at, t):
            found.extend(self._sweep_technical(gateways.offline, urgent, t))
            found.extend(self._data_gaps(now))
            self._hold_offline(gateways.offline, t)
            found.extend(self.engine.tick(t))
        else:  # nothing is judged while the platform is blind, but a press that got through is heard
            found.extend(self.engine.presses(t))
        self._handed = found
        return found

    def _data_gaps(self, now: datetime) -> list[Finding]:
        """Gaps in a gateway's seq still open after ``data_gap_s``: readings lost before the store,
        once per gap (a store that keeps no seq, like InfluxDB, has none to tell)."""
        if not isinstance(self._store, SeqGapReader):
            return []
        found: list[Finding] = []
        for gap in self._store.seq_gaps():
            if (now - gap.opened_at).total_seconds() < self.tuning.data_gap_s:
                continue
            since = gap.opened_at.astimezone(ZoneInfo(self._profiles.profile(gap.household).tz))
            finding = Finding(
                household=gap.household,
                kind=FindingKind.DATA_GAP,
                severity=Severity.WARNING,
                raised_at=now,
                episode=f"data_gap:{gap.gateway}:{gap.first}",
                last_activity_at=None,
                explanation=Explanation(
                    "data_gap", {"device": gap.gateway, "missing": gap.missing, "since": f"{since:%H:%M}"}
                ),
                device=gap.gateway,
            )
            if self._episodes.add(finding):
                log.warning(
                    "detection.data_gap household=%s gateway=%s missing=%s",
                    gap.household,
                    gap.gateway,
                    gap.missing,
                )
                found.append(finding)
        return found

    def climate_tick(self, now: datetime) -> list[Finding]:
        """The climate pass, run after :meth:`tick` and budgeted apart (docs/climate.md):
        room heat and cold newly raised at ``now``, handed over as the tick's findings are (the next
        call acknowledges them); nothing while the platform is blind or the store busy."""
        self._episodes.ack(self._climate_handed)
        self._climate_handed = []
        if self.climate is None or self._platform_blind:
            return []
        try:
            self._climate_handed = self._climate(now)
        except StoreError as exc:
            if not exc.retryable:
                raise
            log.warning("detection.climate_skipped reason=store_busy error=%s", exc)
        return list(self._climate_handed)

    def _climate(self, now: datetime) -> list[Finding]:
        """Room heat and cold (docs/climate.md), each episode once; judged "home" unless the resident
        is probably out (the last activity began an outing) or away."""
        if self.climate is None:
            return []
        states = self.engine.states()

        def at_home(household: str) -> bool:
            state = states.get(household)
            if state is not None and state.outing:
                return False
            return self._profiles.profile(household).away_at(now) is None

        found = [f for f in self.climate.tick(now, at_home) if self._episodes.add(f)]
        for f in found:
            log.info("detection.climate household=%s kind=%s episode=%s", f.household, f.kind, f.episode)
        return found

    def pending(self) -> list[Finding]:
        return self._episodes.pending()

    def ack(self, findings: Sequence[Finding]) -> None:
        self._episodes.ack(list(findings))

    def last_activity_at(self, household: str) -> datetime | None:
        """The newest activity of ``household`` as the engine holds it (the watchdog's drill reads it)."""
        if household not in self.engine.states():
            return None
        last = self.engine.state(household).last
        return None if last is None else datetime.fromtimestamp(last, UTC)

    def classify(self, household: str, now: datetime) -> HouseholdStatus:
        """active / quiet / blind / away, for the dashboard."""
        if self._platform_blind:
            return HouseholdStatus.BLIND
        return self.engine.snapshot(household, now.timestamp()).status

    # ------------------------------------------------------------------ parts

    def _read_activity(self, now: float) -> list[str]:
        """Feed the store's changes to the engine; returns the changed households whose devices must
        be looked at on this tick (a blind home is heard from)."""
        changes = self._store.activity_changes(self._cursor)
        self._cursor = changes.cursor
        urgent: list[str] = []
        silent_s = self.tuning.sensors_silent_s
        engine, known = self.engine, self.engine.states().get
        for household, activity, device, newer in changes.households:
            st = known(household) or engine.state(household)
            event = activity if newer is None else newer  # one float for both when they are one
            if st.last == activity and st.event == event:
                continue  # nothing new (a household's first row always has an event)
            st.event = event
            if event is not None and not st.silence_queued:
                self._silence.add(event + silent_s, st.household)  # the engine's string, not the row's
                st.silence_queued = True
            if st.blind or not st.learned:
                if st.learned:  # a blind home heard from
                    urgent.append(st.household)
                else:
                    st.blind = True  # not judged until its first baseline since start-up
                    self._schedule_relearn(st, now)
            if activity is not None:
                if newer is not None:  # a check-in or battery report after the last activity
                    st.checkins = True
                if device is None:  # the device the store named before (most rows): as last time
                    place = st.place
                else:
                    device = intern(device)  # a few names over every home: one string each
                    place = engine.place(device, None, st.household)
                    if st.solo_device != device:
                        st.solo_device, st.solo_since = device, activity
                engine.activity_in(st, activity, place)
            if st.occupied:
                self._read_occupancy(st)
        return urgent

    def _read_occupancy(self, st: LiveState) -> None:
        """A home with presence sensors or bed pads (known from its history): their states as the store
        has them now, each change handed to the engine (an edge at the device's last report)."""
        engine = self.engine
        for device in self._store.devices(st.household):
            if device.kind is not Kind.OCCUPANCY:
                continue
            occupied = device.last_value >= 1
            room = room_of(engine.place(device.device, Kind.OCCUPANCY.value, st.household))
            if occupied_in(st.occupied, room) != occupied:
                engine.occupancy(st.household, device.last_seen_at.timestamp(), device.device, occupied)

    def _read_presses(self, now: float) -> None:
        """Help-button presses of the last hour not handled yet go to the engine (an urgent finding on
        this tick). After a restart the hour's presses are handed over again; their episodes, kept in
        the episode log, are not raised twice."""
        since = now - PRESS_WINDOW_S
        pressed = self._pressed
        for press in self._store.button_presses(datetime.fromtimestamp(since, UTC)):
            key, at = (press.household, press.device), press.pressed_at.timestamp()
            if pressed.get(key, -math.inf) < at:
                pressed[key] = at
                self.engine.press(press.household, at, press.device)
        if pressed:
            self._pressed = {key: at for key, at in pressed.items() if at >= since}

    def _schedule_relearn(self, st: LiveState, at: float) -> None:
        """Queue the household's next relearn, unless one is queued already."""
        if not st.relearn_queued:
            st.relearn_queued = True
            self._relearn.add(at, st.household)

    def _relearn_due(self, now: float) -> None:
        """Relearn the households that are due, soonest first, within the tick's time budget."""
        deadline = time.perf_counter() + self.settings.relearn_budget_s
        while time.perf_counter() <= deadline:
            household = self._relearn.pop(now)
            if household is None:
                return
            st = self.engine.state(household)
            st.relearn_queued = False
            try:
                self.relearn(household, now)
            except StoreError as exc:
                if not exc.retryable:
                    raise
                log.warning("detection.relearn_failed household=%s error=%s", household, exc)
                self._schedule_relearn(st, now + 300)  # try again in five minutes

    def relearn(self, household: str, now: float) -> None:
        """Learn this household's baseline from the store, and schedule the next (same time daily)."""
        profile = self._profiles.profile(household)
        end = datetime.fromtimestamp(now, UTC)
        start = end - timedelta(days=self.tuning.history_days + 1)
        times = [at.timestamp() for at in self._store.activity_times(household, start, end)]
        events = self._store.events(household, start, end)
        places = {
            e.observed_at.timestamp(): self.engine.place(e.device, e.kind.value, household)
            for e in events
            if e.kind in ACTIVITY_KINDS
        }
        self.adopt(
            household, learn(times, [places.get(t, 0) for t in times], profile.tz, now, self.tuning), now
        )
        if any(e.kind is Kind.OCCUPANCY for e in events):
            st = self.engine.state(household)
            st.occupied |= KNOWN
            self._read_occupancy(st)

    def adopt(self, household: str, baseline: Baseline, now: float) -> None:
        """Judge ``household`` by ``baseline`` from now on; relearn it again tomorrow."""
        stagger = zlib.crc32(household.encode()) % int(DAY)
        st = self.engine.state(household)
        self._schedule_relearn(st, (math.floor(now / DAY) + 1) * DAY + stagger)
        first, st.learned = not st.learned, True
        self.engine.relearned(household, baseline, now)
        if first:
            self.engine.set_blind(household, False, now)

    def _hold_offline(self, offline: Sequence[GatewayLiveState], now: float) -> None:
        """Every tick, not only in a household's sweep slice: a home whose gateway is offline cannot be
        judged (its readings wait in the gateway's outbox), so its community findings are held — unless
        the quiet stretch had already become due while the gateway was still online: that alarm stands."""
        for g in offline:
            st = self.engine.known(g.household)
            if st is None or not st.learned:
                continue
            was, st.blind = st.blind, False  # look at the stretch as if we could see
            due = self.engine.due(g.household, now)
            st.blind = was
            self.engine.set_blind(g.household, due is None or due.at > g.changed_at.timestamp(), now)

    def _platform_check(self, latest_heartbeat_at: datetime | None, now: float) -> bool:
        latest = None if latest_heartbeat_at is None else latest_heartbeat_at.timestamp()
        stale = latest is not None and now - latest >= self.settings.platform_stale_s
        if stale and latest is not None and not self._platform_blind:
            log.error("detection.paused reason=no_heartbeat_from_any_gateway since_s=%d", now - latest)
        elif not stale and self._platform_blind:
            log.warning("detection.resumed")
        self._platform_blind = stale
        return stale

    def _sweep_technical(
        self, offline_gateways: Sequence[GatewayLiveState], urgent: Sequence[str], now: float
    ) -> list[Finding]:
        if len(self._sweep_order) != len(self.engine):  # households are only ever added
            self._sweep_order = self.engine.households()
        households = self._sweep_order
        if not households:
            return []
        size = math.ceil(len(households) / self.settings.sweep_ticks)
        start = (self._sweep * size) % len(households)
        self._sweep += 1
        offline: dict[str, datetime] = {}
        for g in offline_gateways:
            offline[g.household] = min(offline.get(g.household, g.changed_at), g.changed_at)
        # The slice (each household once per sweep_ticks) finds the slow device problems: the store
        # names the homes with a low battery or a device unseen for device_silent, and a home whose
        # one sensor has been alone long enough may have it stuck. What cannot wait is looked at
        # on this tick: a gateway offline or back online, every sensor silent long enough to be
        # blind, and a blind home that is heard from again (while blind, its community findings are
        # held). Help-button presses have their own read (_read_presses).
        part = households[start : start + size]
        seen_by = datetime.fromtimestamp(now - self.tuning.device_silent_s, UTC)
        batch = self._store.device_suspects(part, self.tuning.low_battery_pct, seen_by)
        known = self.engine.states()
        stuck_since = now - self.tuning.stuck_solo_s
        batch.update(h for h in part if (since := known[h].solo_since) is not None and since <= stuck_since)
        batch.update(urgent)
        batch.update(offline)
        batch.update(self._offline_homes - offline.keys())  # back online: judged again at once
        self._offline_homes = set(offline)
        batch.update(self._silent_due(now))
        found: list[Finding] = []
        devices_of = self._store.devices_of(sorted(batch))
        for household in batch:
            devices = devices_of.get(household, [])
            st = self.engine.state(household)
            view = TechnicalView(
                gateway_offline_since=offline.get(household),
                devices=devices,
                solo_device=st.solo_device,
                solo_since=_utc(st.solo_since),
            )
            if st.learned:
                blind = blind_kind(view, st.checkins, self.tuning, now) is not None
                self.engine.set_blind(household, blind, now)
            tz = self._profiles.profile(household).tz
            for finding in technical_findings(household, view, st.checkins, st.last, tz, self.tuning, now):
                if self._episodes.add(finding):
                    found.append(finding)
        return found

    def _silent_due(self, now: float) -> list[str]:
        """Households whose newest event of any kind has just become ``sensors_silent`` old."""
        due: list[str] = []
        while (household := self._silence.pop(now)) is not None:
            st = self.engine.state(household)
            at = math.inf if st.event is None else st.event + self.tuning.sensors_silent_s
            if at > now:  # heard from since it was queued: look again when that is old enough
                self._silence.add(max(at, now + 60.0), household)  # a later minute than this one
                continue
            st.silence_queued = False  # queued again when it is next heard from
            due.append(household)
        return due


def build_live_detector(config: Config, store: DetectionStore, repo: Registry, clock: Clock) -> LiveDetector:
    """The live detector as the alerts process runs it: profiles from the registry, raised
    episodes in the state file (``detection_episodes``), tuning from ``[detection]`` and ``[climate]``
    (with its heat-alert days, if a file is configured)."""
    profiles = StateProfiles(repo, clock, default_tz=config.time_zone, ttl_s=config.alerts.tick_s)
    settings = LiveSettings(interval_s=max(1, round(config.alerts.tick_s)))
    return LiveDetector(
        store,
        profiles,
        SqliteEpisodes(config.alerts.state_path),
        clock,
        tuning_from(config.detection),
        settings,
        RoomMap(households=repo.all_device_rooms()),  # the households file's, as the alerts service starts
        climate_tuning_from(config.climate),
        heat_alerts_for(config.climate, repo),
    )


class LiveState(HouseholdState):
    """The engine's state of a home and what the live detector remembers of it between ticks, in one
    slotted object (there are 100k)."""

    __slots__ = ("event", "learned", "relearn_queued", "silence_queued", "solo_device", "solo_since")

    def __init__(self, household: str, baseline: Baseline) -> None:
        super().__init__(household, baseline)
        self.event: float | None = None  # newest event of any kind the store reported (epoch s)
        self.learned = False  # judged by its own baseline since start-up
        self.relearn_queued = False
        self.silence_queued = False
        self.solo_device: str | None = None  # the only device that reported activity since...
        self.solo_since: float | None = None


class _MinuteQueue:
    """Households by the minute they are due: a list slot each (a heap entry took ~100 bytes, and
    there is one per household). Due times in minutes already handed out go to the next minute."""

    def __init__(self) -> None:
        self._due: dict[int, list[str]] = {}
        self._next: int | None = None  # the minutes before this one are empty

    def add(self, at: float, household: str) -> None:
        if at == math.inf:
            return  # never due
        minute = math.floor(at / 60)
        if self._next is not None:
            minute = max(minute, self._next)
        self._due.setdefault(minute, []).append(household)

    def pop(self, now: float) -> str | None:
        """A household due at or before ``now`` (soonest minute first), or None."""
        last = math.floor(now / 60)
        minute = self._next if self._next is not None else min(self._due, default=last + 1)
        while minute <= last:
            bucket = self._due.get(minute)
            if bucket:
                self._next = minute
                return bucket.pop()
            self._due.pop(minute, None)
            minute += 1
        self._next = last + 1
        return None


def _utc(epoch_s: float | None) -> datetime | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC)
