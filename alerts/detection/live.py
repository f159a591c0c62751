"""The live path: an APScheduler job ticking the detection engine from the store's live state.

Use from the alerts process::

    detector = LiveDetector(store, profiles, SqliteEpisodes(path), clock)
    detector.open()                      # loads raised episodes (restart-proof dedup)
    detector.schedule(scheduler)         # every 60 s; or call detector.tick(now) yourself
    for finding in detector.pending():   # raised but not yet acknowledged (survives restarts)
        open_incident(finding)           # idempotent on (household, episode)
    detector.ack(findings)

Each tick: new activity from ``household_activity()`` updates the engine (O(changed)); households
are relearned daily, staggered, from the store; gateways and devices are swept round-robin for blind
and device findings; the engine raises what is due. A household is judged only once it has a
baseline learned since start-up, so a restart never judges anyone by the priors.
"""

from __future__ import annotations

import logging
import math
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from alerts.detection.baseline import learn
from alerts.detection.detector import HouseholdStatus, blind_kind, technical_findings
from alerts.detection.engine import Engine
from alerts.detection.episodes import SqliteEpisodes, retention_start
from alerts.detection.model import DeviceView, ProfileSource, TechnicalView, Tuning, is_main_door, tuning_from
from alerts.detection.profiles import StateProfiles
from alerts.findings import Finding
from alerts.state.repository import StateRepository
from mimamori.clock import Clock
from mimamori.config import Config
from mimamori.contract import Event, GatewayState, Kind
from store.base import ActivityReader, DeviceState, StoreError

log = logging.getLogger(__name__)

JOB_ID = "mimamori-detection-tick"
DAY = 86400.0


class DetectionStore(ActivityReader, Protocol):
    """The store as detection reads it: the ActivityReader port plus raw events (for door events)."""

    def events(self, household: str, start: datetime, end: datetime) -> list[Event]: ...


@dataclass(frozen=True, slots=True)
class LiveSettings:
    interval_s: int = 60
    misfire_grace_s: int = 30
    sweep_ticks: int = 10  # every household's devices and gateway are checked once per this many ticks
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
    ) -> None:
        self.tuning = tuning or Tuning()
        self.settings = settings or LiveSettings()
        self._store = store
        self._profiles = profiles
        self._episodes = episodes
        self._clock = clock
        self.engine = Engine(profiles, episodes, self.tuning)
        self._seen: dict[str, tuple[datetime | None, datetime | None]] = {}
        self._solo: dict[str, tuple[str, datetime]] = {}  # household -> (only active device, since)
        self._relearn_at: dict[str, float] = {}  # household -> next relearn (epoch); absent = now
        self._learned: set[str] = set()
        self._buttons: dict[str, dict[str, datetime]] = {}  # household -> button device -> last press
        self._sweep = 0
        self._platform_blind = False
        self._handed: list[Finding] = []  # returned by the last tick: acknowledged by the next one
        self.ticks = 0

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
            changed = self._read_activity(t)
            self._relearn_due(t)
            gateways = self._store.gateways()
        except StoreError as exc:
            if not exc.retryable:
                raise
            log.warning("detection_tick_skipped reason=store_busy error=%s", exc)
            self._handed = list(redeliver)
            return list(redeliver)  # the next tick catches up: state is read from the store
        found: list[Finding] = list(redeliver)
        if not self._platform_check(gateways, t):  # nothing is judged while the platform is blind
            found.extend(self._sweep_technical(gateways, changed, t))
            self._hold_offline(gateways, t)
            found.extend(self.engine.tick(t))
        self._handed = found
        return found

    def pending(self) -> list[Finding]:
        return self._episodes.pending()

    def ack(self, findings: Sequence[Finding]) -> None:
        self._episodes.ack(list(findings))

    def classify(self, household: str, now: datetime) -> HouseholdStatus:
        """active / quiet / blind / away, for the dashboard."""
        if self._platform_blind:
            return HouseholdStatus.BLIND
        return self.engine.snapshot(household, now.timestamp()).status

    # ------------------------------------------------------------------ parts

    def _read_activity(self, now: float) -> list[str]:
        changed: list[str] = []
        for item in self._store.household_activity():
            key = (item.last_activity_at, item.last_event_at)
            if self._seen.get(item.household) == key:
                continue
            self._seen[item.household] = key
            changed.append(item.household)
            st = self.engine.state(item.household)
            if item.household not in self._learned:
                st.blind = True  # not judged until its first baseline since start-up
                self._relearn_at.setdefault(item.household, now)
            if (
                item.last_event_at is not None
                and item.last_activity_at is not None
                and item.last_event_at > item.last_activity_at
            ):
                st.checkins = True
            if item.last_activity_at is not None and item.last_activity_device is not None:
                solo = self._solo.get(item.household)
                if solo is None or solo[0] != item.last_activity_device:
                    self._solo[item.household] = (item.last_activity_device, item.last_activity_at)
            if item.last_activity_at is not None:
                self.engine.activity(
                    item.household, item.last_activity_at.timestamp(), item.last_activity_device or ""
                )
        return changed

    def _relearn_due(self, now: float) -> None:
        deadline = time.perf_counter() + self.settings.relearn_budget_s
        for household, at in list(self._relearn_at.items()):
            if at > now:
                continue
            if time.perf_counter() > deadline:
                break
            try:
                self.relearn(household, now)
            except StoreError as exc:
                if not exc.retryable:
                    raise
                log.warning("relearn_failed household=%s error=%s", household, exc)
                self._relearn_at[household] = now + 300  # try again in five minutes

    def relearn(self, household: str, now: float) -> None:
        """Learn this household's baseline from the store, and schedule the next (same time daily)."""
        profile = self._profiles.profile(household)
        end = datetime.fromtimestamp(now, UTC)
        start = end - timedelta(days=self.tuning.history_days + 1)
        times = [at.timestamp() for at in self._store.activity_times(household, start, end)]
        doors = {
            e.observed_at.timestamp()
            for e in self._store.events(household, start, end)
            if e.kind is Kind.DOOR and is_main_door(e.device, "door")
        }
        baseline = learn(times, [t in doors for t in times], profile.tz, now, self.tuning)
        first = household not in self._learned
        self._learned.add(household)
        self.engine.relearned(household, baseline, now)
        if first:
            self.engine.set_blind(household, False, now)
        stagger = zlib.crc32(household.encode()) % int(DAY)
        self._relearn_at[household] = (math.floor(now / DAY) + 1) * DAY + stagger

    def _hold_offline(self, gateways: Sequence[Any], now: float) -> None:
        """Every tick, not only in a household's sweep slice: a home whose gateway is offline cannot be
        judged (its readings wait in the gateway's outbox), so its community findings are held — unless
        the quiet stretch had already become due while the gateway was still online: that alarm stands."""
        for g in gateways:
            if g.state is not GatewayState.OFFLINE or g.household not in self._learned:
                continue
            st = self.engine.state(g.household)
            was, st.blind = st.blind, False  # look at the stretch as if we could see
            due = self.engine.due(g.household)
            st.blind = was
            self.engine.set_blind(g.household, due is None or due.at > g.changed_at.timestamp(), now)

    def _platform_check(self, gateways: Sequence[Any], now: float) -> bool:
        beats = [g.last_heartbeat_at.timestamp() for g in gateways if g.last_heartbeat_at is not None]
        stale = bool(beats) and now - max(beats) >= self.settings.platform_stale_s
        if stale and not self._platform_blind:
            log.error(
                "detection_paused reason=no_heartbeat_from_any_gateway since_s=%d",
                now - max(beats),
            )
        elif not stale and self._platform_blind:
            log.warning("detection_resumed")
        self._platform_blind = stale
        return stale

    def _sweep_technical(self, gateways: Sequence[Any], changed: Sequence[str], now: float) -> list[Finding]:
        households = list(self._seen)
        if not households:
            return []
        size = math.ceil(len(households) / self.settings.sweep_ticks)
        start = (self._sweep * size) % len(households)
        self._sweep += 1
        batch = set(households[start : start + size])
        batch.update(h for h in changed if h in self._buttons)
        offline: dict[str, datetime] = {}
        for g in gateways:
            if g.state is GatewayState.OFFLINE:
                offline[g.household] = min(offline.get(g.household, g.changed_at), g.changed_at)
        found: list[Finding] = []
        for household in batch:
            devices = self._store.devices(household)
            self._presses(household, devices, now)
            st = self.engine.state(household)
            view = TechnicalView(
                gateway_offline_since=offline.get(household),
                last_event_at=self._seen[household][1],
                devices=[_device_view(d) for d in devices],
                solo_device=self._solo.get(household, (None, None))[0],
                solo_since=self._solo.get(household, (None, None))[1],
            )
            if household in self._learned:
                blind = blind_kind(view, st.checkins, self.tuning, now) is not None
                self.engine.set_blind(household, blind, now)
            tz = self._profiles.profile(household).tz
            for finding in technical_findings(household, view, st.checkins, st.last, tz, self.tuning, now):
                if self._episodes.add(finding):
                    found.append(finding)
        return found

    def _presses(self, household: str, devices: Sequence[DeviceState], now: float) -> None:
        buttons = self._buttons.setdefault(household, {})
        for d in devices:
            if d.kind is not Kind.BUTTON:
                continue
            known = buttons.get(d.device)
            buttons[d.device] = d.last_seen_at
            pressed = d.last_value >= 1 and (known is None or d.last_seen_at > known)
            if pressed and now - d.last_seen_at.timestamp() <= 3600:
                self.engine.press(household, d.last_seen_at.timestamp(), d.device)
        if not buttons:
            del self._buttons[household]


def build_live_detector(
    config: Config, store: DetectionStore, repo: StateRepository, clock: Clock
) -> LiveDetector:
    """The live detector as the alerts process runs it: profiles from the state repository, raised
    episodes in the state file (``detection_episodes``), tuning from ``[detection]``."""
    profiles = StateProfiles(repo, clock, default_tz=config.time_zone, ttl_s=config.alerts.tick_s)
    settings = LiveSettings(interval_s=max(1, round(config.alerts.tick_s)))
    return LiveDetector(
        store,
        profiles,
        SqliteEpisodes(config.alerts.state_path),
        clock,
        tuning_from(config.detection),
        settings,
    )


def _device_view(d: DeviceState) -> DeviceView:
    return DeviceView(d.device, d.kind.value, d.last_seen_at, d.last_value, d.battery)
