"""Detection quality: the protocol of issue 8, over simulated homes and the real sample.

Protocol (the same for our detector and for the two baselines implemented here):
- warm-up: the first ``--warmup`` days are learning only;
- false alarms: community findings per household-day on the untouched stream after the warm-up
  (findings during a simulated incident are genuine and not counted);
- collapses: every event after a random instant ``t0`` is deleted; the time from ``t0`` to the first
  alarm (a miss if none within 24 h). Daytime cuts: resident home and awake; night cuts: asleep, where
  the alarm is a missed wake-up, also measured against the usual latest wake time;
- our detector as shipped (no flags: rooms inferred from device names, the evening check on by itself
  where no living-room or bedroom activity is seen), with the evening check switched off everywhere,
  and switched on where the kit cannot see the evening; each along a sensitivity curve; a fixed 12 h
  timer and a Cuddihy-style slot threshold (97th percentile of past per-half-hour inactivity + 30 min)
  side by side;
- bathroom collapses (simulated homes whose kit has a bathroom sensor): a ``bath_fall`` scenario in a
  bath after the warm-up, the time from the collapse to the first alarm;
- presence kits (homes with presence sensors and a bed pad, replayed with and without them): false
  alarms, lying still after a collapse in a room with a presence sensor, a fall on a night toilet
  visit (``--presence-only`` runs this part alone);
- learning from outcomes: our detector (as shipped) where staff close every community alarm 30 min
  after it was raised, as a false alarm, or as an emergency inside a simulated incident;
- a hindsight bound (``hindsight_bound``): what a detector that knew the scored days in advance would
  achieve with no false alarm, for the same daytime cuts.

Run: ``.venv/bin/python benchmarks/detection.py [--households 40] [--days 28] [--seeds 3]``.
The last line printed is one JSON object with every table.
"""

from __future__ import annotations

import argparse
import bisect
import copy
import json
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools

from rich.console import Console
from rich.progress import track

from detection.findings import Audience, Finding
from detection.learning import feedback_of
from detection.model import FixedProfiles, Profile, Tuning
from detection.replay import Rejections, Replayer, ReplayEvent, read_events
from detection.rooms import infer_room
from firmware_sim.kits import HouseRoom, sees_evening
from mimamori.contract import ACTIVITY_POWER_W, Kind
from registry.models import Feedback, Switch

STDERR = Console(stderr=True)  # progress of long set-up and evaluation loops, never of a timed one
REAL_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real_home_a"  # ../shared
DAY = 86400.0
HORIZON = 24 * 3600.0
CLOSE_AFTER = timedelta(minutes=30)  # learning from outcomes: when staff close an alarm

Interval = tuple[float, float]


@dataclass
class BenchHome:
    """One household with its ground truth."""

    name: str
    tz: str
    events: list[ReplayEvent]  # sorted
    asleep: list[Interval]
    out: list[Interval]
    incidents: list[Interval] = field(default_factory=list)  # genuine: alarms inside are not false
    latest_wake_min: float | None = None  # usual latest wake-up (minutes after local midnight)
    sees_evening: bool = True  # a sensor in the living room or bedroom (else: evening check opted in)
    kit: str = ""  # the simulator's kit (its name without a dropped sensor), for the per-kit table

    @property
    def start(self) -> float:
        return self.events[0].at

    @property
    def end(self) -> float:
        return self.events[-1].at


def inside(t: float, intervals: Sequence[Interval]) -> bool:
    return any(a <= t < b for a, b in intervals)


# --------------------------------------------------------------------------- homes


def real_home() -> BenchHome | None:
    events_path = REAL_DIR / "home_a_events.csv"
    labels_path = REAL_DIR / "home_a_labels.csv"
    if not events_path.exists() or not labels_path.exists():
        print(f"real sample not found in {REAL_DIR}: skipped", file=sys.stderr)
        return None
    events = [ReplayEvent(*e) for e in read_events(events_path, Rejections())]
    asleep: list[Interval] = []
    out: list[Interval] = []
    for line in labels_path.read_text(encoding="utf-8").splitlines()[1:]:
        start, end, activity = line.split(",")
        span = (datetime.fromisoformat(start).timestamp(), datetime.fromisoformat(end).timestamp())
        if activity == "Sleeping":
            asleep.append(span)
        elif activity == "Leaving":
            out.append(span)
    # the README's usual latest wake-up for this home
    # no motion sensor in the living room or bedroom (its README): a kit that cannot see the evening
    return BenchHome(
        "real_home_a", "Europe/Madrid", events, asleep, out, latest_wake_min=11 * 60 + 57, sees_evening=False
    )


def sim_homes(households: int, days: int, seed: int) -> list[BenchHome]:
    """Untouched simulated homes (firmware_sim) with their ground truth: sleep, outings, usual wake."""
    from firmware_sim.simulate import generate

    result = generate(households, days=days, seed=seed)
    truth = result.truth()
    by_home: dict[str, list[ReplayEvent]] = {}
    for e in result.events:
        if e.kind.value in ("motion", "door", "power", "button"):
            by_home.setdefault(e.household, []).append(
                ReplayEvent(e.observed / 1000, e.household, e.device, e.kind.value, e.value)
            )
    homes = []
    for h in truth["households"]:
        asleep: list[Interval] = []
        out: list[Interval] = []
        for day in h["days"]:
            if day.get("sleep"):
                a, b = day["sleep"]
                asleep.append((datetime.fromisoformat(a).timestamp(), datetime.fromisoformat(b).timestamp()))
            for a, b in day.get("away") or []:
                out.append((datetime.fromisoformat(a).timestamp(), datetime.fromisoformat(b).timestamp()))
        hour, minute = (int(x) for x in h["usual"]["latest_wake"].split(":"))
        events = sorted(by_home.get(h["household"], []), key=lambda e: e.at)
        name = f"s{seed}-{h['household']}-{h['kit']}"
        sees = any(sees_evening(Kind(d["kind"]), HouseRoom(d["room"])) for d in h["devices"])
        wake = hour * 60 + minute
        kit = h["kit"].split("-")[0]  # "standard-kettle" (a standard kit without its kettle) is standard
        homes.append(
            BenchHome(name, h["tz"], events, asleep, out, latest_wake_min=wake, sees_evening=sees, kit=kit)
        )
    return homes


# --------------------------------------------------------------------------- cuts


@dataclass(frozen=True)
class Cut:
    t0: float
    case: str  # "day" | "night"


def choose_cuts(
    home: BenchHome, rng: random.Random, warmup_days: float, n_day: int, n_night: int
) -> list[Cut]:
    """Daytime cuts stratified by hour (home and awake), night cuts while asleep; after the warm-up."""
    tz = ZoneInfo(home.tz)
    first = home.start + warmup_days * DAY
    last = home.end - 3600.0
    cuts: list[Cut] = []
    if last <= first:
        return cuts
    hours = list(range(7, 23))
    tries = 0
    while len([c for c in cuts if c.case == "day"]) < n_day and tries < 5000:
        tries += 1
        hour = hours[tries % len(hours)]
        day = rng.uniform(first, last)
        local = datetime.fromtimestamp(day, tz).replace(hour=hour, minute=rng.randrange(60), second=0)
        t0 = local.timestamp()
        awake_home = not inside(t0, home.asleep) and not inside(t0, home.out)
        if first <= t0 < last and awake_home and not inside(t0, home.incidents):
            cuts.append(Cut(t0, "day"))
    sleeps = [(a, b) for a, b in home.asleep if a >= first and b < last]
    tries = 0
    while len([c for c in cuts if c.case == "night"]) < n_night and sleeps and tries < 5000:
        tries += 1
        a, b = rng.choice(sleeps)
        cuts.append(Cut(rng.uniform(a + 0.1 * (b - a), b - 0.2 * (b - a)), "night"))
    return sorted(cuts, key=lambda c: c.t0)


# --------------------------------------------------------------------------- detectors


@dataclass
class Outcome:
    false_alarms: list[float]  # raised_at of false alarms after the warm-up
    scored_days: float
    detections: list[tuple[Cut, float | None]]  # (cut, alarm time or None)
    alarms_asleep_or_out: int = 0
    warmup_alarms: int = 0  # community findings during the warm-up (a new household's first week)
    warmup_days: float = 0.0


def community(finding: Finding) -> bool:
    return finding.audience is Audience.COMMUNITY


class Closing:
    """One home's profile where staff close every community alarm ``CLOSE_AFTER`` after it was raised:
    as an emergency inside a simulated incident, else as a false alarm (what detection learns from)."""

    def __init__(self, home: BenchHome, evening_check: Switch) -> None:
        self._home = home
        self.findings: list[Finding] = []  # the replayer's, read as they come
        self._seen = 0
        self._feedback: list[Feedback] = []
        self._profile = Profile(home.name, home.tz, evening_check=evening_check)

    def profile(self, household: str) -> Profile:
        while self._seen < len(self.findings):
            f = self.findings[self._seen]
            self._seen += 1
            if not community(f):
                continue
            kept = feedback_of(
                f.household,
                f"{f.household}:{f.episode}",
                f.kind,
                f.explanation.key,
                f.last_activity_at,
                self._home.tz,
                emergency=inside(f.raised_at.timestamp(), self._home.incidents),
                closed_at=f.raised_at + CLOSE_AFTER,
            )
            if kept is not None:
                self._feedback.append(kept)
                self._profile = replace(self._profile, feedback=tuple(self._feedback))
        return self._profile


def run_ours(
    home: BenchHome,
    cuts: Sequence[Cut],
    warmup_days: float,
    tuning: Tuning,
    *,
    evening_check: Switch = Switch.AUTO,
    learning: bool = False,
) -> Outcome:
    closing = Closing(home, evening_check) if learning else None
    profiles = closing or FixedProfiles(home.tz, evening_check=evening_check)
    replayer = Replayer(profiles, tuning)
    if closing is not None:
        closing.findings = replayer.findings
    detections: list[tuple[Cut, float | None]] = []
    index = 0
    events = home.events
    for cut in cuts:
        upto = index
        while upto < len(events) and events[upto].at < cut.t0:
            upto += 1
        replayer.feed(events[index:upto])
        index = upto
        fork = copy.deepcopy(replayer)
        seen = len(fork.findings)
        fork.run_until(cut.t0 + HORIZON)
        alarm = next(
            (
                f.raised_at.timestamp()
                for f in fork.findings[seen:]
                if community(f) and f.raised_at.timestamp() >= cut.t0
            ),
            None,
        )
        detections.append((cut, alarm))
    replayer.feed(events[index:])
    replayer.run_until(home.end)
    scored_from = home.start + warmup_days * DAY
    false = [
        f.raised_at.timestamp()
        for f in replayer.findings
        if community(f)
        and f.raised_at.timestamp() >= scored_from
        and not inside(f.raised_at.timestamp(), home.incidents)
    ]
    flagged = sum(1 for t in false if inside(t, home.asleep) or inside(t, home.out))
    early = sum(1 for f in replayer.findings if community(f) and f.raised_at.timestamp() < scored_from)
    return Outcome(false, (home.end - scored_from) / DAY, detections, flagged, early, warmup_days)


def activities(home: BenchHome) -> list[tuple[float, str]]:
    """Activity instants and their devices by the contract's rule (motion on, door either way, power
    crossing)."""
    found: list[tuple[float, str]] = []
    power: dict[str, float] = {}
    for e in home.events:
        if e.kind == "motion" and e.value < 1:
            continue
        if e.kind == "power":
            before = power.get(e.device)
            power[e.device] = e.value
            if before is None and e.value < ACTIVITY_POWER_W:
                continue
            if before is not None and (before >= ACTIVITY_POWER_W) == (e.value >= ACTIVITY_POWER_W):
                continue
        found.append((e.at, e.device))
    return found


def activity_times(home: BenchHome) -> list[float]:
    return [t for t, _ in activities(home)]


def last_before(times: Sequence[float], t: float) -> float | None:
    lo, hi = 0, len(times)
    while lo < hi:
        mid = (lo + hi) // 2
        if times[mid] < t:
            lo = mid + 1
        else:
            hi = mid
    return times[lo - 1] if lo else None


def run_timer(home: BenchHome, cuts: Sequence[Cut], warmup_days: float, hours: float = 12.0) -> Outcome:
    times = activity_times(home)
    limit = hours * 3600.0
    scored_from = home.start + warmup_days * DAY
    false = [
        a + limit
        for a, b in itertools.pairwise(times)
        if b - a > limit and a + limit >= scored_from and not inside(a + limit, home.incidents)
    ]
    detections: list[tuple[Cut, float | None]] = []
    for cut in cuts:
        last = last_before(times, cut.t0)
        alarm = None if last is None else max(cut.t0, last + limit)
        detections.append((cut, alarm if alarm is not None and alarm - cut.t0 <= HORIZON else None))
    flagged = sum(1 for t in false if inside(t, home.asleep) or inside(t, home.out))
    return Outcome(false, (home.end - scored_from) / DAY, detections, flagged)


class Cuddihy:
    """Cuddihy et al. 2007, as a slot threshold: per half-hour slot of the local day, the 97th
    percentile of the longest inactivity seen in that slot on past days, plus a 30-minute buffer.
    Learned online: day D uses only days before D."""

    def __init__(self, home: BenchHome, buffer_s: float = 1800.0, history_days: int = 28) -> None:
        self.tz = ZoneInfo(home.tz)
        self.buffer = buffer_s
        self.history = history_days
        self.times = activity_times(home)
        self.maxima: dict[date, list[float]] = {}
        self._thresholds: dict[date, list[float]] = {}
        for a, b in zip(self.times, self.times[1:], strict=False):
            self._add_gap(a, b)

    def _slot(self, t: float) -> tuple[date, int, float]:
        local = datetime.fromtimestamp(t, self.tz)
        slot = (local.hour * 60 + local.minute) // 30
        slot_start = local.replace(minute=(local.minute // 30) * 30, second=0, microsecond=0)
        return local.date(), slot, (slot_start + timedelta(minutes=30)).timestamp()

    def _add_gap(self, a: float, b: float) -> None:
        t = a
        while t < b:
            day, slot, slot_end = self._slot(t)
            row = self.maxima.setdefault(day, [0.0] * 48)
            row[slot] = max(row[slot], min(b, slot_end) - a)
            t = slot_end

    def threshold(self, day: date, slot: int) -> float:
        row = self._thresholds.get(day)
        if row is None:
            past = [
                self.maxima[d] for d in sorted(self.maxima) if day - timedelta(days=self.history) <= d < day
            ]
            row = []
            for s in range(48):
                values = sorted(r[s] for r in past)
                if not values:
                    row.append(math.inf)
                    continue
                rank = min(len(values) - 1, math.ceil(0.97 * len(values)) - 1)
                row.append(values[rank] + self.buffer)
            self._thresholds[day] = row
        return row[slot]

    def first_alarm(self, last: float, start: float, stop: float) -> float | None:
        """The first minute in [start, stop) at which inactivity since ``last`` crosses the line."""
        t = math.ceil(start / 60) * 60.0
        while t < stop:
            day, slot, _ = self._slot(t)
            if t - last > self.threshold(day, slot):
                return t
            t += 60.0
        return None

    def run(self, home: BenchHome, cuts: Sequence[Cut], warmup_days: float) -> Outcome:
        scored_from = home.start + warmup_days * DAY
        false: list[float] = []
        for a, b in zip(self.times, self.times[1:], strict=False):
            if b < scored_from or b - a < 1800:
                continue
            alarm = self.first_alarm(a, max(a, scored_from), b)
            if alarm is not None and not inside(alarm, home.incidents):
                false.append(alarm)
        detections: list[tuple[Cut, float | None]] = []
        for cut in cuts:
            last = last_before(self.times, cut.t0)
            alarm = None if last is None else self.first_alarm(last, cut.t0, cut.t0 + HORIZON)
            detections.append((cut, alarm))
        flagged = sum(1 for t in false if inside(t, home.asleep) or inside(t, home.out))
        return Outcome(false, (home.end - scored_from) / DAY, detections, flagged)


# --------------------------------------------------------------------------- tables


def hindsight_bound(home: BenchHome, cuts: Sequence[Cut], warmup_days: float) -> list[float]:
    """Daytime delays (seconds) of a detector no one can build: each cell (the half-hour slot of the
    stretch's start, pooled +-1 h, and the room of its last activity) gets as threshold the longest quiet
    the resident really had *at home and awake* in that cell over the scored days themselves (it knows
    when they fell asleep or went out), no margin: zero false alarms by construction. How far the
    targets are from what the sensors allow, not a detector."""
    tz = ZoneInfo(home.tz)
    acts = activities(home)
    times = [t for t, _ in acts]
    scored = home.start + warmup_days * DAY

    def cell(t: float, device: str) -> tuple[int, str]:
        local = datetime.fromtimestamp(t, tz)
        return (local.hour * 60 + local.minute) // 30, infer_room(device).value

    def ends(intervals: Sequence[Interval], t: float) -> float:
        return min((a for a, _ in intervals if a >= t), default=math.inf)

    longest: dict[tuple[int, str], float] = {}
    for (t, device), (u, _) in itertools.pairwise(acts):
        if u < scored or inside(t, home.asleep) or inside(t, home.out) or inside(t, home.incidents):
            continue
        quiet = min(u, ends(home.asleep, t), ends(home.out, t)) - t
        slot, room = cell(t, device)
        for k in range(-2, 3):
            key = ((slot + k) % 48, room)
            longest[key] = max(longest.get(key, 0.0), quiet)
    delays = []
    for cut in cuts:
        i = bisect.bisect_left(times, cut.t0) - 1
        if cut.case == "day" and i >= 0:
            last, device = acts[i]
            delays.append(max(0.0, last + longest.get(cell(last, device), 0.0) + 60 - cut.t0))
    return delays


def bound_table(
    homes: Sequence[BenchHome], plans: Sequence[dict[str, list[Cut]]], warmup_days: float
) -> dict[str, object]:
    pairs = [(h, d) for cuts in plans for h in homes for d in hindsight_bound(h, cuts[h.name], warmup_days)]
    table: dict[str, object] = {}
    kits = sorted({h.kit for h in homes if h.kit})
    for kit in ["all", *kits, *(["all_but_minimal"] if "minimal" in kits else [])]:
        delays = [
            d
            for h, d in pairs
            if kit == "all" or h.kit == kit or (kit == "all_but_minimal" and h.kit != "minimal")
        ]
        if delays:
            table[kit] = {
                "cuts": len(delays),
                "median_h": hours(quantile(delays, 0.5)),
                "p90_h": hours(quantile(delays, 0.9)),
                "over_3h": sum(1 for d in delays if d > 3 * 3600),
            }
    return table


def quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def hours(value: float | None) -> float | None:
    return None if value is None else round(value / 3600, 2)


def wake_delay(home: BenchHome, cut: Cut, alarm: float) -> float | None:
    """Alarm time minus the usual latest wake-up on the morning after the cut (seconds)."""
    if home.latest_wake_min is None:
        return None
    tz = ZoneInfo(home.tz)
    local = datetime.fromtimestamp(cut.t0, tz)
    day = local.date() if local.hour < 15 else local.date() + timedelta(days=1)
    wake = datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(minutes=home.latest_wake_min)
    return alarm - wake.timestamp()


def summarise(pairs: Sequence[tuple[BenchHome, Outcome]]) -> dict[str, object]:
    false = sum(len(o.false_alarms) for _, o in pairs)
    days = sum(o.scored_days for _, o in pairs)
    table: dict[str, object] = {
        "false_alarms_per_household_day": round(false / days, 4) if days else None,
        "false_alarms": false,
        "household_days": round(days, 1),
        "false_alarms_while_asleep_or_out": sum(o.alarms_asleep_or_out for _, o in pairs),
    }
    warmup_days = sum(o.warmup_days for _, o in pairs)
    if warmup_days:
        early = sum(o.warmup_alarms for _, o in pairs)
        table["warmup_alarms_per_household_day"] = round(early / warmup_days, 3)
    for case in ("day", "night"):
        delays = [
            alarm - cut.t0
            for _, o in pairs
            for cut, alarm in o.detections
            if cut.case == case and alarm is not None
        ]
        misses = sum(1 for _, o in pairs for cut, alarm in o.detections if cut.case == case and alarm is None)
        table[case] = {
            "cuts": len(delays) + misses,
            "median_h": hours(quantile(delays, 0.5)),
            "p90_h": hours(quantile(delays, 0.9)),
            "misses_24h": misses,
        }
    kits = sorted({home.kit for home, _ in pairs if home.kit})
    if kits:  # which kits spend the false alarms and give the slowest daytime cuts
        table["day_by_kit"] = {
            kit: {
                "false_alarms_per_household_day": round(
                    sum(len(o.false_alarms) for h, o in pairs if h.kit == kit)
                    / max(1e-9, sum(o.scored_days for h, o in pairs if h.kit == kit)),
                    4,
                ),
                "cuts": len(delays),
                "median_h": hours(quantile(delays, 0.5)),
                "p90_h": hours(quantile(delays, 0.9)),
            }
            for kit in kits
            for delays in [
                [
                    alarm - cut.t0
                    for home, o in pairs
                    if home.kit == kit
                    for cut, alarm in o.detections
                    if cut.case == "day" and alarm is not None
                ]
            ]
        }
    after_wake = [
        d
        for home, o in pairs
        for cut, alarm in o.detections
        if cut.case == "night" and alarm is not None
        for d in [wake_delay(home, cut, alarm)]
        if d is not None
    ]
    table["missed_wakeup_after_latest_wake"] = {
        "median_min": None if not after_wake else round(quantile(after_wake, 0.5) / 60),  # type: ignore[operator]
        "p90_min": None if not after_wake else round(quantile(after_wake, 0.9) / 60),  # type: ignore[operator]
        "max_min": None if not after_wake else round(max(after_wake) / 60),
    }
    return table


def evaluate(
    homes: Sequence[BenchHome],
    warmup_days: float,
    n_day: int,
    n_night: int,
    seed: int,
    sensitivities: Sequence[float],
    draws: int = 1,
) -> dict[str, object]:
    """Every detector over the same cuts. With ``draws`` > 1 the cuts are drawn that many times (seeds
    ``seed`` .. ``seed + draws - 1``) and the tables pool them: a few dozen cuts of one home are too few
    for a stable P90."""
    plans = []
    for draw in range(draws):
        rng = random.Random(seed + draw)
        plans.append({home.name: choose_cuts(home, rng, warmup_days, n_day, n_night) for home in homes})

    def pooled(run: Callable[[BenchHome, Sequence[Cut]], Outcome]) -> dict[str, object]:
        work = [(h, cuts) for cuts in plans for h in homes]
        done = [(h, run(h, cuts[h.name])) for h, cuts in track(work, "homes", console=STDERR, transient=True)]
        by_draw = [done[i : i + len(homes)] for i in range(0, len(done), len(homes))]
        table = summarise([pair for pairs in by_draw for pair in pairs])
        if draws > 1:
            # the untouched stream is the same in every draw: its false alarms are counted once
            once = summarise(by_draw[0])
            table.update({k: v for k, v in once.items() if k.startswith(("false_alarms", "household_days"))})
            p90s = sorted(summarise(pairs)["day"]["p90_h"] or math.inf for pairs in by_draw)  # type: ignore[index]
            table["day_p90_h_per_draw"] = {"min": p90s[0], "median": p90s[len(p90s) // 2], "max": p90s[-1]}
        return table

    def ours(
        tuning: Tuning, check: Switch, *, learning: bool = False
    ) -> Callable[[BenchHome, Sequence[Cut]], Outcome]:
        def run(h: BenchHome, cuts: Sequence[Cut]) -> Outcome:
            switch = Switch.ON if check is Switch.ON and not h.sees_evening else check
            return run_ours(h, cuts, warmup_days, tuning, evening_check=switch, learning=learning)

        return run

    result: dict[str, object] = {"cut_draws": draws}
    detectors: dict[str, Callable[[BenchHome, Sequence[Cut]], Outcome]] = {
        "mimamori": ours(Tuning(), Switch.AUTO),
        "mimamori_evening_check_off": ours(Tuning(), Switch.OFF),
        "mimamori_evening_check": ours(Tuning(), Switch.ON),
        "mimamori_learning_from_outcomes": ours(Tuning(), Switch.AUTO, learning=True),
        "fixed_12h_timer": lambda h, cuts: run_timer(h, cuts, warmup_days),
        "cuddihy_slot_p97": lambda h, cuts: Cuddihy(h).run(h, cuts, warmup_days),
    }
    result["hindsight_bound"] = bound_table(homes, plans, warmup_days)
    for name, run in detectors.items():
        started = time.perf_counter()
        result[name] = pooled(run)
        print(f"  {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    result["sensitivity_curve"] = [
        {"sensitivity": s, **pooled(ours(Tuning(sensitivity=s), Switch.AUTO))} for s in sensitivities
    ]
    return result


def bath_collapses(households: int, days: int, seed: int, warmup_days: int) -> list[float | None]:
    """Minutes from a collapse in the bath to the first community alarm (None: none within 24 h), for
    every simulated home whose kit has a bathroom sensor and that bathes after the warm-up."""
    from firmware_sim.scenarios import Scenario, ScenarioKind
    from firmware_sim.simulate import DEFAULT_START, build_homes, generate

    rng = random.Random(f"bath:{seed}")
    homes = [h for h in build_homes(households, seed, DEFAULT_START) if h.kit.motion_in(HouseRoom.BATHROOM)]
    scenarios: list[Scenario] = []
    first = DEFAULT_START.toordinal() + warmup_days + 1
    for home in homes:
        baths = [b for day in range(first, DEFAULT_START.toordinal() + days - 1) if (b := home.bath(day))]
        if baths:
            start, end = rng.choice(baths)
            at = datetime.fromtimestamp((start + rng.uniform(0.25, 0.75) * (end - start)) / 1000).astimezone()
            scenarios.append(Scenario(home.household, ScenarioKind.BATH_FALL, at))
    if not scenarios:
        return []
    result = generate([s.household for s in scenarios], days, seed, scenarios)
    by_home: dict[str, list[ReplayEvent]] = {}
    for e in result.events:
        if e.kind.value in ("motion", "door", "power", "button"):
            by_home.setdefault(e.household, []).append(
                ReplayEvent(e.observed / 1000, e.household, e.device, e.kind.value, e.value)
            )
    delays: list[float | None] = []
    for s in scenarios:
        cut = s.t0.timestamp()
        replayer = Replayer(FixedProfiles(result.homes[0].tz), Tuning())
        replayer.feed(sorted(by_home[s.household], key=lambda e: e[0]))
        replayer.run_until(cut + HORIZON)
        alarm = next(
            (t for f in replayer.findings if community(f) and (t := f.raised_at.timestamp()) >= cut), None
        )
        delays.append(None if alarm is None else (alarm - cut) / 60)
    return delays


ACTIVITY_NAMES = ("motion", "door", "power", "button")


def replay_events(events: Sequence[object], with_occupancy: bool) -> dict[str, list[ReplayEvent]]:
    """Simulated events by household as the replay reads them (occupancy too, or not: the same home
    seen by its motion, door, plug and button sensors alone)."""
    kinds = (*ACTIVITY_NAMES, "occupancy") if with_occupancy else ACTIVITY_NAMES
    by_home: dict[str, list[ReplayEvent]] = {}
    for e in events:
        if e.kind.value in kinds:  # type: ignore[attr-defined]
            by_home.setdefault(e.household, []).append(  # type: ignore[attr-defined]
                ReplayEvent(e.observed / 1000, e.household, e.device, e.kind.value, e.value)  # type: ignore[attr-defined]
            )
    return {h: sorted(v, key=lambda x: x.at) for h, v in by_home.items()}


def first_alarm(events: list[ReplayEvent], tz: str, cut: float) -> float | None:
    """Minutes from ``cut`` to the first community alarm at or after it (None: none within 24 h)."""
    replayer = Replayer(FixedProfiles(tz), Tuning())
    replayer.feed(events)
    replayer.run_until(cut + HORIZON)
    alarm = next(
        (t for f in replayer.findings if community(f) and (t := f.raised_at.timestamp()) >= cut), None
    )
    return None if alarm is None else (alarm - cut) / 60


def presence_kits(households: int, days: int, seed: int, warmup_days: int) -> dict[str, object]:
    """Homes with the presence kit (the full kit, presence sensors in the bathroom, toilet, kitchen and
    living room, a bed pad), each replayed with and without its occupancy events:
    - false alarms per household-day on the untouched streams after the warm-up;
    - lying still: a collapse at a random moment of an awake act in a room with a presence sensor,
      the person lying there from then on (``fall``): minutes to the first alarm, overall and by room;
    - a night fall: a collapse during a night-time toilet visit (00:00-05:00)."""
    from firmware_sim.homes import HouseholdSpec
    from firmware_sim.routine import Activity
    from firmware_sim.scenarios import Scenario, ScenarioKind
    from firmware_sim.simulate import DEFAULT_START, build_homes, generate

    specs = [HouseholdSpec(f"p{seed}-{n:03d}", kit="presence") for n in range(households)]
    homes = build_homes(specs, seed, DEFAULT_START)
    tz = homes[0].tz
    first = DEFAULT_START.toordinal() + warmup_days + 1
    last = DEFAULT_START.toordinal() + days - 2
    rng = random.Random(f"presence:{seed}")
    rooms = {HouseRoom.BATHROOM, HouseRoom.TOILET, HouseRoom.KITCHEN, HouseRoom.LIVING}
    awake_in_rooms: list[Scenario] = []
    night: list[Scenario] = []
    where: dict[str, str] = {}
    for home in homes:
        acts = [a for day in range(first, last) for a in home.plan(day).acts]
        day_acts = [a for a in acts if a.room in rooms and a.what not in (Activity.NAP, Activity.SLEEP)]
        act = rng.choice(day_acts)
        at = datetime.fromtimestamp(
            (act.start + rng.uniform(0.2, 0.8) * (act.end - act.start)) / 1000
        ).astimezone()
        awake_in_rooms.append(Scenario(home.household, ScenarioKind.FALL, at))
        where[home.household] = act.room.value
        night_toilet = [
            a
            for a in acts
            if a.room is HouseRoom.TOILET and datetime.fromtimestamp(a.start / 1000, ZoneInfo(tz)).hour < 5
        ]
        if night_toilet:
            act = rng.choice(night_toilet)
            at = datetime.fromtimestamp((act.start + 0.5 * (act.end - act.start)) / 1000).astimezone()
            night.append(Scenario(home.household, ScenarioKind.FALL, at))
    untouched = generate(specs, days, seed)
    result: dict[str, object] = {"homes": len(homes)}
    scored_from = {h.household: h.midnight(first) / 1000 for h in homes}
    scored_days = len(homes) * (days - warmup_days - 1)
    for label, occupancy in (("with_presence", True), ("without_presence", False)):
        by_home = replay_events(untouched.events, occupancy)
        false = 0
        for household, events in by_home.items():
            replayer = Replayer(FixedProfiles(tz), Tuning())
            replayer.feed(events)
            replayer.run_until(events[-1].at)
            false += sum(
                1
                for f in replayer.findings
                if community(f) and f.raised_at.timestamp() >= scored_from[household]
            )
        lying: dict[str, list[float | None]] = {}
        falls = generate(specs, days, seed, awake_in_rooms)
        falls_by_home = replay_events(falls.events, occupancy)
        for s in awake_in_rooms:
            delay = first_alarm(falls_by_home[s.household], tz, s.t0.timestamp())
            lying.setdefault(where[s.household], []).append(delay)
        nights = generate(specs, days, seed, night) if night else None
        night_delays = []
        if nights is not None:
            night_by_home = replay_events(nights.events, occupancy)
            night_delays = [first_alarm(night_by_home[s.household], tz, s.t0.timestamp()) for s in night]
        result[label] = {
            "false_alarms": false,
            "scored_household_days": scored_days,
            "lying_still": {room: delays for room, delays in sorted(lying.items())},
            "night_toilet_falls": night_delays,
        }
    return result


def presence_table(runs: Sequence[dict[str, object]]) -> dict[str, object]:
    """Pooled over seeds: false alarms per household-day; lying-still and night-fall delays."""
    table: dict[str, object] = {"homes": sum(int(r["homes"]) for r in runs)}  # type: ignore[call-overload]
    for label in ("with_presence", "without_presence"):
        parts = [r[label] for r in runs]
        false = sum(p["false_alarms"] for p in parts)  # type: ignore[index]
        days = sum(p["scored_household_days"] for p in parts)  # type: ignore[index]
        by_room: dict[str, list[float | None]] = {}
        for p in parts:
            for room, delays in p["lying_still"].items():  # type: ignore[index]
                by_room.setdefault(room, []).extend(delays)
        every = [d for delays in by_room.values() for d in delays]
        not_living = [d for room, delays in by_room.items() if room != "living" for d in delays]
        table[label] = {
            "false_alarms_per_household_day": round(false / days, 3) if days else None,
            "false_alarms": false,
            "lying_still": bath_table(every),
            "lying_still_where_people_do_not_lie_still": bath_table(not_living),
            "lying_still_by_room": {room: bath_table(d) for room, d in sorted(by_room.items())},
            "night_toilet_falls": bath_table([d for p in parts for d in p["night_toilet_falls"]]),  # type: ignore[index]
        }
    return table


def bath_table(delays: Sequence[float | None]) -> dict[str, object]:
    found = [d for d in delays if d is not None]
    return {
        "collapses": len(delays),
        "median_min": None if not found else round(quantile(found, 0.5) or 0),
        "p90_min": None if not found else round(quantile(found, 0.9) or 0),
        "max_min": None if not found else round(max(found)),
        "misses_24h": len(delays) - len(found),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--curve", default="0.7,0.85,1.0,1.2,1.5,2,3,4")
    parser.add_argument("--skip-sim", action="store_true")
    parser.add_argument("--households", type=int, default=30, help="simulated homes per seed")
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--presence-households", type=int, default=20, help="presence-kit homes per seed")
    parser.add_argument("--presence-only", action="store_true", help="only the presence-kit table")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--real-draws", type=int, default=20, help="draws of the real sample's cuts, pooled")
    args = parser.parse_args()
    sensitivities = [float(s) for s in args.curve.split(",") if s]
    report: dict[str, object] = {}
    if args.presence_only:
        runs = [
            presence_kits(args.presence_households, args.days, seed, 7) for seed in range(1, args.seeds + 1)
        ]
        print(json.dumps({"presence_kit": presence_table(runs)}))
        return
    if not args.skip_sim:
        homes = [h for seed in range(1, args.seeds + 1) for h in sim_homes(args.households, args.days, seed)]
        print(
            f"simulated: {len(homes)} homes x {args.days} days (7-day warm-up, 4 day + 2 night cuts each)",
            file=sys.stderr,
        )
        report["simulated"] = evaluate(homes, 7, 4, 2, args.seed, sensitivities)
        report["simulated"]["homes"] = len(homes)  # type: ignore[index]
        delays = [
            d
            for seed in range(1, args.seeds + 1)
            for d in bath_collapses(args.households, args.days, seed, 7)
        ]
        report["simulated"]["bath_collapses"] = bath_table(delays)  # type: ignore[index]
        runs = [
            presence_kits(args.presence_households, args.days, seed, 7) for seed in range(1, args.seeds + 1)
        ]
        report["simulated"]["presence_kit"] = presence_table(runs)  # type: ignore[index]
    home = real_home()
    if home is not None:
        print(
            f"real sample (7-day warm-up, 30 daytime and 10 night cuts, drawn {args.real_draws} times)",
            file=sys.stderr,
        )
        report["real_home_a"] = evaluate([home], 7, 30, 10, args.seed, sensitivities, args.real_draws)
    else:
        report["real_home_a"] = "skipped: sample absent"
    print(json.dumps(report))


if __name__ == "__main__":
    main()
