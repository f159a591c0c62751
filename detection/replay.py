"""Offline replay: the live detector over an event file, in simulated time, learning online.

Events (CSV ``ts,household,device,kind,value``, any order, several households) are replayed in time
order with a tick every simulated minute. Ticks that cannot raise anything are skipped (the engine
knows when the next household is due), which is equivalent to ticking every minute and much faster.
Baselines are relearned once a day per household (staggered) from the events *before* that instant,
so the findings before ``t`` do not depend on anything after ``t``.
"""

from __future__ import annotations

import csv
import heapq
import math
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import compress, islice
from operator import add, eq
from pathlib import Path
from typing import NamedTuple

from detection.baseline import DaySummary, combine, local_parts, summarise_days, window_days, zone
from detection.engine import Engine
from detection.episodes import MemoryEpisodes
from detection.findings import Finding
from detection.model import ProfileSource, Tuning
from detection.rooms import RoomMap
from mimamori.contract import ACTIVITY_POWER_W, ID_RE

KIND_NAMES = {name: name for name in ("motion", "door", "power", "button", "occupancy")}
KINDS = frozenset(KIND_NAMES)
NOT_ACTIVITY = frozenset({"battery", "checkin", "temperature", "humidity"})
ROOM_CLIMATE = frozenset({"temperature", "humidity"})
IGNORED = "ignored"  # the reason given for NOT_ACTIVITY rows (counted apart, not as rejections)
RELEARN_MIN = 12 * 60  # relearn around local noon (+ up to two hours, staggered by household)
RELEARN_SPREAD_MIN = 120


Event = tuple[float, str, str, str, float]
"""One replayed event: epoch seconds, household, device, kind, value (a plain tuple: cheap to hold)."""


class ReplayEvent(NamedTuple):
    """An :data:`Event` built by name (tests, benchmarks)."""

    at: float  # epoch seconds
    household: str
    device: str
    kind: str
    value: float


@dataclass
class Rejections:
    """Rows that were not replayed, counted by reason (with the first few line numbers)."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[int]] = field(default_factory=dict)
    ignored: int = 0  # battery, check-in and room climate rows (not activity)

    def add(self, reason: str, line: int) -> None:
        self.counts[reason] += 1
        self.examples.setdefault(reason, [])
        if len(self.examples[reason]) < 3:
            self.examples[reason].append(line)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def read_events(path: Path, rejections: Rejections) -> list[Event]:
    """Parse the CSV; bad rows are counted in ``rejections`` and skipped, never fatal."""
    with path.open(newline="", encoding="utf-8") as handle:
        return parse_rows(csv.reader(handle), rejections)


def parse_rows(rows: Iterable[list[str]], rejections: Rejections) -> list[Event]:
    """Validate and sort rows (after the header); bad ones are counted, never fatal.

    A row is its time and its *source* (household, device, kind, value), and a file has few distinct
    sources: each is validated once and shared. Rows are held in two flat columns while reading, then
    the events are built once, in time order, so a shuffled file replays as fast as a sorted one
    (events laid out in memory in the order they are replayed). Events at the same instant are put in
    a canonical order, so the order of the file never changes the findings.
    """
    it = iter(rows)
    header = next(it, None)
    if header is None or [h.strip() for h in header] != ["ts", "household", "device", "kind", "value"]:
        rejections.add("bad_header", 1)
        return []
    fromiso = datetime.fromisoformat
    ats = array("d")
    sources: list[tuple[str, str, str, float]] = []
    add_at, add_source = ats.append, sources.append
    known: dict[tuple[str, str, str, str], tuple[str, str, str, float]] = {}
    refused: dict[tuple[str, str, str, str], str] = {}  # source -> why it is not replayed
    ids: dict[str, str] = {}  # id -> its shared copy, or "" when invalid
    for line, row in enumerate(it, start=2):
        if len(row) != 5:
            rejections.add("bad_columns", line)
            continue
        ts, household, device, kind, raw = row
        if kind in ROOM_CLIMATE:  # a room sensor every few minutes: never activity, let go unparsed
            rejections.ignored += 1
            continue
        try:
            at = fromiso(ts)
        except ValueError:
            rejections.add("bad_timestamp", line)
            continue
        if at.tzinfo is None:
            rejections.add("timestamp_without_offset", line)
            continue
        key = (household, device, kind, raw)
        source = known.get(key)
        if source is None:
            checked = refused.get(key) or _source(household, device, kind, raw, ids)
            if isinstance(checked, str):
                refused[key] = checked
                if checked == IGNORED:
                    rejections.ignored += 1  # valid reports that never mean a person moved
                else:
                    rejections.add(checked, line)
                continue
            source = known[key] = checked
        add_at(at.timestamp())
        add_source(source)
    order = sorted(range(len(ats)), key=ats.__getitem__)
    times = list(map(ats.__getitem__, order))
    _canonical_ties(times, order, sources)
    # plain tuples, built in C and in replay order (the collector stops tracking them after one pass)
    return list(map(add, zip(times), map(sources.__getitem__, order)))


def _source(
    household: str, device: str, kind: str, raw: str, ids: dict[str, str]
) -> tuple[str, str, str, float] | str:
    """A validated source (shared id strings), or why its rows are not replayed."""
    if kind not in KINDS:
        return IGNORED if kind in NOT_ACTIVITY else "bad_kind"
    h = ids.get(household)
    if h is None:
        h = ids[household] = household if ID_RE.match(household) else ""
    d = ids.get(device)
    if d is None:
        d = ids[device] = device if ID_RE.match(device) else ""
    if not h or not d:
        return "bad_id"
    try:
        value = float(raw)
    except ValueError:
        return "bad_value"
    if not (0 <= value < math.inf):
        return "bad_value"
    return (h, d, KIND_NAMES[kind], value)


def _canonical_ties(times: list[float], order: list[int], sources: list[tuple[str, str, str, float]]) -> None:
    """Order events at the same instant by their source (a short loop over the ties only)."""
    end = -1
    for i in compress(range(len(times) - 1), map(eq, times, islice(times, 1, None))):
        if i < end:
            continue
        end = i + 1
        while end + 1 < len(times) and times[end + 1] == times[i]:
            end += 1
        order[i : end + 1] = sorted(order[i : end + 1], key=sources.__getitem__)


class History:
    """One household's activity so far, and its day summaries (complete days only are kept)."""

    __slots__ = ("places", "power", "summaries", "times", "tz")

    def __init__(self, tz: str) -> None:
        self.tz = tz
        self.times: list[float] = []
        self.places: list[int] = []  # room code of each activity (rooms.code)
        self.power: dict[str, float] = {}
        self.summaries: dict[date, DaySummary | None] = {}  # None: a closed day without activity


class Replayer:
    """Feeds events to an :class:`Engine` in time order and ticks it every simulated minute."""

    def __init__(
        self,
        profiles: ProfileSource,
        tuning: Tuning | None = None,
        on_finding: Callable[[Finding], None] | None = None,
        rooms: RoomMap | None = None,
    ) -> None:
        self.tuning = tuning or Tuning()
        self.profiles = profiles
        self.engine = Engine(profiles, MemoryEpisodes(), self.tuning, rooms=rooms)
        self.findings: list[Finding] = []
        self._on_finding = on_finding
        self._histories: dict[str, History] = {}
        self._relearn: list[tuple[float, str]] = []
        self._last_tick: float | None = None
        self._horizon = -math.inf  # nothing can be due before this instant (until new input)
        self._look_ahead = self.engine.look_ahead
        self.events = 0

    def feed(self, events: Sequence[Event]) -> None:
        """Replay events (in time order), ticking every minute before each one."""
        engine = self.engine
        histories = self._histories
        look_ahead = self._look_ahead
        threshold = ACTIVITY_POWER_W
        for at, household, device, kind, value in events:
            if self._last_tick is None:
                self._last_tick = math.floor(at / 60) * 60.0
            elif at > self._horizon and at > self._last_tick + 60:
                self._advance(at, inclusive=False)
            history = histories.get(household)
            if history is None:
                history = History(self.profiles.profile(household).tz)
                histories[household] = history
                self._schedule_relearn(household, at, history)
            if kind == "motion":
                if value < 1:
                    continue
            elif kind == "power":
                before = history.power.get(device)
                history.power[device] = value
                if (threshold <= value) == (before is not None and threshold <= before):
                    continue  # not switched on or off: a plug's steady reading is not a person
            elif kind == "button" and value >= 1:
                engine.press(household, at, device)
                self._horizon = min(self._horizon, at)
            elif kind == "occupancy":
                engine.occupancy(household, at, device, value >= 1)
                self._horizon = min(self._horizon, at)  # what is due may have changed
                if value < 1:
                    continue  # clear is not activity (getting out of bed restarts the stretch in the engine)
            times = history.times
            if times and at < times[-1]:
                continue  # never let history go back
            times.append(at)
            place = engine.place(device, kind)
            history.places.append(place)
            engine.activity_in(engine.state(household), at, place)
            if at + look_ahead < self._horizon:
                self._horizon = at + look_ahead
        self.events += len(events)

    def run_until(self, until: float) -> None:
        """Keep ticking with no events until ``until`` (inclusive)."""
        if self._last_tick is not None:
            self._advance(until, inclusive=True)

    def _advance(self, limit: float, *, inclusive: bool) -> None:
        engine = self.engine
        assert self._last_tick is not None
        while True:
            nxt = min(engine.next_look(), self._relearn[0][0] if self._relearn else math.inf)
            if engine.pending():
                nxt = self._last_tick + 60
            m = max(self._last_tick + 60, math.ceil(nxt / 60) * 60.0)
            if m > limit or (m == limit and not inclusive):
                self._horizon = m
                break
            while self._relearn and self._relearn[0][0] <= m:
                _, household = heapq.heappop(self._relearn)
                self._relearn_household(household, m)
            for finding in engine.tick(m):
                if self._on_finding is None:
                    self.findings.append(finding)
                else:
                    self._on_finding(finding)
            self._last_tick = m
        self._last_tick = max(self._last_tick, math.floor(limit / 60) * 60.0 - (0 if inclusive else 60))

    def _schedule_relearn(self, household: str, now: float, history: History) -> None:
        tz = zone(history.tz)
        day, _, _ = local_parts(now, tz)
        stagger = zlib.crc32(household.encode()) % RELEARN_SPREAD_MIN
        for _ in range(3):
            at = datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(minutes=RELEARN_MIN + stagger)
            if at.timestamp() > now:
                heapq.heappush(self._relearn, (at.timestamp(), household))
                self._horizon = min(self._horizon, at.timestamp())
                return
            day += timedelta(days=1)

    def _relearn_household(self, household: str, now: float) -> None:
        history = self._histories[household]
        days = window_days(now, history.tz, self.tuning)
        missing = [d for d in days if d not in history.summaries]
        if missing:
            fresh = summarise_days(history.times, history.places, history.tz, missing, self.tuning)
            by_day = {s.day: s for s in fresh}
            closed_before = _closed_before(history, days[-1])
            for day in missing:
                if day < closed_before:
                    history.summaries[day] = by_day.get(day)  # its last gap has ended: final
        else:
            by_day = {}
        summaries = [history.summaries.get(d) or by_day.get(d) for d in days]
        baseline = combine([s for s in summaries if s is not None], now, self.tuning)
        self.engine.relearned(household, baseline, now)
        _forget_before(history, days[0])
        self._schedule_relearn(household, now, history)


def _closed_before(history: History, last_day: date) -> date:
    """Days before the returned one have all their gaps ended (a later activity exists)."""
    if not history.times:
        return date.min
    newest_day, _, _ = local_parts(history.times[-1], zone(history.tz))
    return min(newest_day, last_day + timedelta(days=1))


def _forget_before(history: History, first_day: date) -> None:
    for day in [d for d in history.summaries if d < first_day]:
        del history.summaries[day]
    tz = zone(history.tz)
    cutoff = datetime(first_day.year, first_day.month, first_day.day, tzinfo=tz).timestamp() - 86400
    drop = 0
    while drop < len(history.times) and history.times[drop] < cutoff:
        drop += 1
    if drop:
        del history.times[:drop]
        del history.places[:drop]


def replay(
    events: Sequence[Event],
    profiles: ProfileSource,
    until: float | None = None,
    tuning: Tuning | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    rooms: RoomMap | None = None,
) -> Iterator[Finding]:
    """Replay ``events`` (sorted) and yield findings in the order they were raised.

    ``until`` defaults to the last event; ``progress(done, total, findings)`` is called now and then;
    ``rooms``: the devices' rooms (default: inferred from their names).
    """
    out: list[Finding] = []
    replayer = Replayer(profiles, tuning, out.append, rooms)
    step = max(1, min(200_000, len(events) // 20))
    raised = 0
    for start in range(0, len(events), step):
        replayer.feed(events[start : start + step])
        raised += len(out)
        yield from out
        out.clear()
        if progress is not None:
            progress(min(start + step, len(events)), len(events), raised)
    end = until if until is not None else (events[-1][0] if events else None)
    if end is not None:
        replayer.run_until(end)
    yield from out
