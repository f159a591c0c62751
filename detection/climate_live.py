"""The climate watch in the live detector: room readings from the store into each home's
:class:`~detection.climate.ClimateWatch`, and the findings due at ``now``.

Each pass (``LiveDetector.climate_tick``, after the detector's tick) reads the store's climate rows
written since the last one, by change number (so a reading a gateway's outbox delivers late is read
whenever it is stored), of the homes it watches and of the sensors that are not calm; the first pass
after a start rebuilds every such home from its last ``history`` of readings, so a restart neither
forgets a hot afternoon nor repeats its alert (the episode log remembers what was raised).
docs/climate.md, "The live detector".
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter

from detection.climate import (
    COLD_ROOMS,
    DEFAULT_HUMIDITY,
    HEAT_ROOMS,
    ClimateTuning,
    ClimateWatch,
    HeatLevel,
    calm_range,
    heat_level,
    heat_shock,
    indoor_wbgt,
    is_air_conditioner,
    local_time,
)
from detection.findings import Finding, FindingKind
from detection.heat_alerts import HeatAlertDays
from detection.model import ProfileSource
from detection.rooms import RoomMap
from mimamori.contract import Kind
from registry.models import Room
from store.base import Calm, ClimateReader, ClimateReading, DeviceState

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=10)
TEMPERATURE = Kind.TEMPERATURE.value
BY_TIME = itemgetter(4, 2)
"""A store row's sort key: by time, humidity before temperature at one instant ('h' < 't')."""


COLD_MARGIN_C = 2.0  # a cold home is warm again this far above the floor


def calm_kinds(
    readings: Sequence[ClimateReading], rooms: RoomMap, tuning: ClimateTuning | None = None
) -> dict[str, frozenset[FindingKind]]:
    """Per household, the climate kinds whose rooms are safe again by the newest readings given: no
    living room, bedroom or kitchen at 厳重警戒 (heat); the living room and bedroom at least 2 °C above
    the cold floor (cold). A home none of whose rooms of that kind were heard is not calm."""
    t = tuning or ClimateTuning()
    temps: dict[tuple[str, str], float] = {}
    hums: dict[tuple[str, str], float] = {}
    for r in sorted(readings, key=lambda r: r.at):
        (temps if r.kind is Kind.TEMPERATURE else hums)[(r.household, r.device)] = r.value
    hot: dict[str, bool] = {}
    cold: dict[str, bool] = {}
    for (household, device), temp in temps.items():
        room = rooms.room(device, household)
        if room in HEAT_ROOMS:
            level = heat_level(indoor_wbgt(temp, hums.get((household, device), DEFAULT_HUMIDITY)))
            hot[household] = hot.get(household, False) or level >= HeatLevel.SEVERE
        if room in COLD_ROOMS:
            cold[household] = cold.get(household, False) or temp < t.cold_below_c + COLD_MARGIN_C
    return {
        h: frozenset(
            ([FindingKind.HEAT] if h in hot and not hot[h] else [])
            + ([FindingKind.COLD] if h in cold and not cold[h] else [])
        )
        for h in hot.keys() | cold.keys()
    }


JUDGE_EVERY = timedelta(minutes=5)
"""A home in a hot or cold stretch with no new reading is judged again this often."""
SHOCK_SWEEP_EVERY = timedelta(hours=1)


class ClimateDetector:
    """The live climate watch. Only *watched* homes are kept: those with a room that is not calm (one
    that could be at 厳重警戒 or is cold, :func:`~detection.climate.calm_range`) or in a stretch; a
    calm room's readings change nothing the rules decide, so the store leaves them out unless the
    home is watched (every reading of a watched home is fed), and a home whose rooms are all calm
    again is forgotten. The heat-shock advice, which compares two calm rooms, is judged for every
    home by an hourly sweep of the newest readings in its months."""

    def __init__(
        self,
        reader: ClimateReader,
        devices_of: Callable[[Sequence[str]], dict[str, list[DeviceState]]],
        profiles: ProfileSource,
        rooms: RoomMap,
        tuning: ClimateTuning | None = None,
        history: timedelta = timedelta(hours=4),
        *,
        heat_alerts: HeatAlertDays | None = None,
    ) -> None:
        self.tuning = tuning or ClimateTuning()
        self._heat_alerts = heat_alerts
        self._reader = reader
        self._devices_of = devices_of
        self._profiles = profiles
        self._rooms = rooms
        self._history = history
        self._calm = Calm(*calm_range(self.tuning))
        self.watches: dict[str, ClimateWatch] = {}
        self._judged: dict[str, datetime] = {}  # watched household -> when last judged
        self._cooling: set[str] = set()  # watched homes with a room at 厳重警戒 that is cooling
        self._cursor: int | None = None
        self._shock_sweep_at: datetime | None = None

    def tick(self, now: datetime, at_home: Callable[[str], bool]) -> list[Finding]:
        """The climate findings due at ``now`` (the caller raises each episode once)."""
        changes = self._reader.climate_changes(self._cursor, list(self.watches), self._calm)
        rows = changes.rows
        fed: set[str] = set()
        if self._cursor is None:
            since = now - self._history
            since_ms = since.timestamp() * 1000
            for household in sorted({r[0] for r in rows if r[4] >= since_ms}):
                fed |= self._feed(self._reader.climate_readings(household, since, now + OVERLAP))
        else:
            fed = self._feed_rows(rows)
        self._cursor = changes.cursor
        self._read_air_conditioners(fed)
        alerts = self._heat_alerts
        if alerts is not None:
            alerts.refresh()
        # Judged: the homes heard from since the last tick, and those in a hot or cold stretch (whose
        # time may come without a new reading) every JUDGE_EVERY.
        found: list[Finding] = []
        judged = self._judged
        for household, watch in self.watches.items():
            if household not in fed:
                if watch.hot_since is None and watch.cold_since is None:
                    continue
                last = judged.get(household)
                if last is not None and now - last < JUDGE_EVERY:
                    continue
            judged[household] = now
            alert_day = (
                alerts is not None
                and watch.hot_since is not None
                and alerts.alert_day(household, local_time(now, watch.time_zone).date())
            )
            found.extend(watch.due(now, at_home=at_home(household), alert_day=alert_day))
        self._forget_calm(fed)
        found.extend(self._heat_shock_sweep(now))
        return found

    def _read_air_conditioners(self, fed: set[str]) -> None:
        """The plugs of the homes whose air conditioner could hide a finding: a room at 厳重警戒 that
        is cooling (elsewhere the unit's state decides nothing; a room's state changes when fed)."""
        t = self.tuning
        watches = self.watches
        for h in fed:
            w = watches.get(h)
            for r in () if w is None else w.rooms.values():
                if r.severe and r.cooling(t):
                    self._cooling.add(h)
                    break
            else:
                self._cooling.discard(h)
        if self._cooling:
            for household, devices in self._devices_of(sorted(self._cooling)).items():
                for d in devices:
                    if d.kind is Kind.POWER and is_air_conditioner(d.device):
                        self.watches[household].air_conditioner(d.last_seen_at, d.last_value)

    def _forget_calm(self, fed: set[str]) -> None:
        """Forget the homes fed this tick whose rooms are all calm again, out of any stretch."""
        low, high = self._calm.low, self._calm.high
        calm = [
            h
            for h in fed
            if (w := self.watches.get(h)) is not None
            and w.hot_since is None
            and w.cold_since is None
            and all(r.at is None or low <= r.temp_c < high for r in w.rooms.values())
        ]
        for household in calm:
            del self.watches[household]
            self._judged.pop(household, None)
            self._cooling.discard(household)

    def _heat_shock_sweep(self, now: datetime) -> list[Finding]:
        """Hourly in the heat-shock months: every home's living room against its bathroom."""
        months = self.tuning.heat_shock_months
        if not {(now - timedelta(days=1)).month, (now + timedelta(days=1)).month} & months:
            return []
        if self._shock_sweep_at is not None and now - self._shock_sweep_at < SHOCK_SWEEP_EVERY:
            return []
        self._shock_sweep_at = now
        living: dict[str, float] = {}
        bathroom: dict[str, float] = {}
        for r in self._reader.climate_since(now - self.tuning.stale):  # oldest first: the newest wins
            if r.kind is Kind.TEMPERATURE:
                room = self._rooms.room(r.device, r.household)
                if room is Room.LIVING:
                    living[r.household] = r.value
                elif room is Room.BATHROOM:
                    bathroom[r.household] = r.value
        found: list[Finding] = []
        for household in sorted(living.keys() & bathroom.keys()):
            tz = self._profiles.profile(household).tz
            shock = heat_shock(household, tz, living[household], bathroom[household], now, self.tuning)
            if shock is not None:
                found.append(shock)
        return found

    def _feed(self, readings: Sequence[ClimateReading]) -> set[str]:
        """Feed readings (a home's history); the households fed."""
        return self._feed_rows(
            [(r.household, r.device, r.kind.value, r.value, round(r.at.timestamp() * 1000)) for r in readings]
        )

    def _feed_rows(self, rows: list[tuple[str, str, str, float, int]]) -> set[str]:
        """Feed the store's (household, device, kind, value, epoch ms) rows in time order (humidity
        first; sorts ``rows``); a row not newer than what its sensor has fed (read twice: a batch
        committed between the cursor and the rows) is skipped. The households fed."""
        rows.sort(key=BY_TIME)
        fed: set[str] = set()
        watches = self.watches
        instants: dict[int, datetime] = {}  # one datetime per instant (a sensor's pair shares it)
        for household, device, kind, value, ms in rows:
            watch = watches.get(household)
            if watch is None:
                tz = self._profiles.profile(household).tz
                watch = watches[household] = ClimateWatch(household, tz, self.tuning)
                log.info("detection.climate_watch household=%s", household)
            temperature = kind == TEMPERATURE
            at = instants.get(ms)
            if at is None:
                at = instants[ms] = datetime.fromtimestamp(ms / 1000, UTC)
            known = watch.rooms.get(device)
            if known is None:
                room = self._rooms.room(device, household)
                device = sys.intern(device)  # one string per device name, not one per home
            else:
                fed_at = known.at if temperature else known.humidity_at
                if fed_at is not None and at <= fed_at:
                    continue
                room = known.room
            fed.add(household)
            if temperature:
                watch.temperature(device, room, at, value)
            else:
                watch.humidity(device, room, at, value)
        return fed
