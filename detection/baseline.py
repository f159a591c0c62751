"""Per-household baselines learned from that household's own activity history (pure).

Quiet gaps are learned per slot of the local day (weekday and weekend apart once there are enough
days of each), from the longest gap that began in each slot on each day, pooled with neighbouring
slots because a few weeks of data is little. Gaps that begin with the main door are outings, learned
apart. Wake-up is the end of the night's last long gap. New households start from priors and move to
the learned values as days accumulate; a baseline is *trusted* after ``Tuning.trusted_days``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from detection.model import Doorway, Tuning
from detection.rooms import DOOR, INDEX, Room

DAY_S = 86400.0
MIN_GAP_S = 10 * 60.0  # shorter gaps never decide a threshold
SLEEP_CHUNK_S = 2 * 3600.0
RECENT_NIGHTS = 7  # the evening check's earliest start of sleep: over this many of the latest nights
SLEEP_START_TO_MIN = 6 * 60 + 30  # a long gap that begins after midnight and before 06:30 is sleep
WAKE_FROM_MIN = 4 * 60  # getting up: the first activity from 04:00 ...
WAKE_LATEST_MIN = 15 * 60  # ... and before 15:00 ...
# ... followed by more activity 10-60 minutes later: up and about. A night toilet visit is over sooner;
# breakfast seen by a lone kitchen sensor (a minimal kit) often lasts 10-15 minutes and then nothing
# for hours, so a 15-minute floor missed most such mornings and learned a late "usual" wake-up
WAKE_GOES_ON_S = (10 * 60.0, 60 * 60.0)

MIN_DAYTYPE_DAYS = 4
BED_FROM_MIN = 19 * 60  # going to bed: the first long gap from 19:00 on (or after midnight)
EVENING_FROM_MIN = 17 * 60  # the evening: quiet stretches from 17:00 until the night's sleep
UNIT_S = 300.0  # baselines keep durations in 5-minute steps, one byte each (up to 21 h)
STAY_ROOMS = (Room.BATHROOM, Room.TOILET)  # rooms whose stays are judged (DaySummary.stays)
STILL_ROOMS = (*STAY_ROOMS, Room.KITCHEN, Room.OTHER)
"""Rooms whose longest stretches are learned (DaySummary.stays, the STAY_ROOMS first): where a presence
sensor that stays occupied with nothing moving means lying still (detection/occupancy.py). Not the
living room (people doze there: on the simulator its evenings raised 11 more false alarms in 1,200
household-days) nor the bedroom."""
_STAY_CODES = {INDEX[room] << 1: k for k, room in enumerate(STILL_ROOMS)}
_NO_STAYS = (-1,) * len(STILL_ROOMS)
_STILL_INDEX = {room: k for k, room in enumerate(STILL_ROOMS)}


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class DeclineSigns:
    """Slow drift found over the last week, each part None when not drifting."""

    activity_change: float | None  # -0.4 = 40 % less activity than before
    wake_shift_min: int | None  # +75 = waking 75 minutes later
    night_ratio: float | None  # 2.5 = 2.5 times the night-time activity


@dataclass(frozen=True, slots=True)
class Baseline:
    """What is normal for one household. Thresholds in minutes per (weekend, slot)."""

    learned_at: float  # epoch seconds
    days: int  # days with data in the window
    trusted: bool
    slot_minutes: int
    quiet: bytes  # per (weekend, slot): thresholds, then usual longest gaps; in UNIT_S steps
    wake_earliest_min: int  # minutes after local midnight
    wake_latest_min: int
    wake_latest_weekend_min: int
    bed_min: int  # usual earliest bedtime, minutes after midnight (>= 1440: after the next midnight)
    wake_days: int
    outing_limit_s: float
    longest_outing_s: float
    decline: DeclineSigns | None = None
    # the evening check: when the night's sleep began (minutes after the evening's midnight, earliest
    # over the last RECENT_NIGHTS nights, latest seen) and the longest quiet stretch seen in an evening
    # before it, over ``evening_nights``
    retire_earliest_min: int = 0
    retire_latest_min: int = 0
    evening_quiet_min: int = 0
    evening_nights: int = 0
    # rooms: every room activity was seen in (bit per ``rooms.INDEX``); per STAY_ROOMS room, the
    # longest stay seen and the limit a stretch that began there is judged by (minutes; 0: no rule)
    rooms: int = 0
    bath_usual_min: int = 0
    bath_limit_min: int = 0
    toilet_usual_min: int = 0
    toilet_limit_min: int = 0
    # per STILL_ROOMS room: the longest stretch that began there and the lying-still limit (minutes,
    # at most 255; 0: none learned); b"" before any were learned
    still: bytes = b""

    def sees(self, room: Room) -> bool:
        """Whether activity was seen in ``room`` over the history window."""
        return bool(self.rooms >> INDEX[room] & 1)

    def stay(self, room: Room) -> tuple[int, int]:
        """(usual longest stay, limit) in minutes of a stretch that began in ``room``; (0, 0): none."""
        if room is Room.BATHROOM:
            return self.bath_usual_min, self.bath_limit_min
        if room is Room.TOILET:
            return self.toilet_usual_min, self.toilet_limit_min
        return 0, 0

    def still_min(self, room: Room) -> tuple[int, int]:
        """(longest stretch seen, lying-still limit) in minutes for a presence sensor in ``room``
        staying occupied with nothing moving; (0, 0): not learned (yet)."""
        k = _STILL_INDEX.get(room)
        if k is None or not self.still:
            return 0, 0
        return self.still[k], self.still[len(STILL_ROOMS) + k]

    def threshold_s(self, weekend: bool, minute_of_day: int) -> float:
        """How long a quiet stretch that began at this local time may last before it is a finding."""
        slots = len(self.quiet) // 4
        return self.quiet[(slots if weekend else 0) + minute_of_day // self.slot_minutes] * UNIT_S

    def usual_quiet_s(self, weekend: bool, minute_of_day: int) -> float:
        """The longest quiet stretch usually seen beginning at this local time (0: none learned)."""
        slots = len(self.quiet) // 4
        return self.quiet[2 * slots + (slots if weekend else 0) + minute_of_day // self.slot_minutes] * UNIT_S


def local_parts(t: float, tz: ZoneInfo) -> tuple[date, int, bool]:
    """Local date, minute of day and weekend flag of epoch seconds ``t``."""
    d = datetime.fromtimestamp(t, tz)
    return d.date(), d.hour * 60 + d.minute, d.weekday() >= 5


def prior_threshold_s(minute_of_day: int, tuning: Tuning) -> float:
    night = minute_of_day >= 21 * 60 or minute_of_day < 6 * 60
    return tuning.prior_night_s if night else tuning.prior_day_s


@dataclass(frozen=True, slots=True)
class DaySummary:
    """One local day of one household, as baselines need it (a day roll-up)."""

    day: date
    weekend: bool
    slot_max_min: tuple[int, ...]  # per slot: longest at-home gap (minutes) that began in it; 0 = none
    longest_outing_s: float
    wake_min: int | None  # getting up: the first activity from 04:00 on that goes on (see WAKE_*)
    bed_min: int | None  # start of the first long gap from 19:00 on (going to bed)
    early_bed_min: int | None  # start of the first long gap after midnight (before 06:30)
    count: int
    night_count: int  # activity between midnight and 05:00
    # the longest at-home gap that began from 17:00 (start minute, minutes, and the longest before it),
    # and the same for those that began before 06:30; None: no such gap
    evening_gap: tuple[int, int, int] | None = None
    early_gap: tuple[int, int, int] | None = None
    rooms: int = 0  # a bit per room (``rooms.INDEX``) activity was seen in
    stays: tuple[int, ...] = (
        _NO_STAYS  # per STILL_ROOMS room: the longest stretch that began there (-1: none)
    )


def summarise_days(
    times: Sequence[float], places: Sequence[int], tz_name: str, days: Sequence[date], tuning: Tuning
) -> list[DaySummary]:
    """Summaries of the local ``days`` (ascending) that have activity.

    ``times`` (sorted epoch seconds) must include the first activity after the last day, if any,
    so that its final gap is known; a gap with no end yet is not learned. ``places[i]`` is the room
    code of activity ``i`` (``rooms.code``; a boolean reads as "the main door or not", room unknown).
    """
    if not days:
        return []
    tz = zone(tz_name)
    slots = 1440 // tuning.slot_minutes
    wanted = set(days)
    lo = _first_at_or_after(times, _midnight(days[0], tz))
    hi = _first_at_or_after(times, _midnight(days[-1] + timedelta(days=1), tz))
    result: list[DaySummary] = []
    n = len(times)
    current: date | None = None
    slot_max = [0] * slots
    outing = 0.0
    wake: int | None = None
    bed: int | None = None
    early_bed: int | None = None
    count = night = 0
    evening: tuple[int, int, int] | None = None
    early: tuple[int, int, int] | None = None
    weekend = False
    rooms = 0
    stays = list(_NO_STAYS)
    doorway = Doorway(times[lo - 1], bool(places[lo - 1] & DOOR)) if lo > 0 else Doorway()

    def flush() -> None:
        if current is not None and current in wanted and count:
            result.append(
                DaySummary(
                    current,
                    weekend,
                    tuple(slot_max),
                    outing,
                    wake,
                    bed,
                    early_bed,
                    count,
                    night,
                    evening,
                    early,
                    rooms,
                    tuple(stays),
                )
            )

    day_start = day_end = -math.inf
    for i in range(lo, hi):
        t = times[i]
        if not day_start <= t < day_end:
            flush()
            current, _, weekend = local_parts(t, tz)
            day_start = _midnight(current, tz)
            day_end = _midnight(current + timedelta(days=1), tz)
            slot_max = [0] * slots
            outing, count, night = 0.0, 0, 0
            wake = bed = early_bed = None
            evening = early = None
            rooms = 0
            stays = list(_NO_STAYS)
        minute = int((t - day_start) // 60)  # minutes since local midnight (elapsed, on DST days)
        place = places[i]
        out = doorway.step(t, bool(place & DOOR))
        rooms |= 1 << (place >> 1)
        count += 1
        if minute < 5 * 60:
            night += 1
        if wake is None and WAKE_FROM_MIN <= minute <= WAKE_LATEST_MIN and _goes_on(times, i, hi):
            wake = minute
        if i + 1 >= n:
            break
        gap = times[i + 1] - t
        if gap > tuning.anomalous_gap_s:
            continue
        stay = _STAY_CODES.get(place)
        if stay is not None:
            stays[stay] = max(stays[stay], round(gap / 60))
        if gap < MIN_GAP_S:
            continue
        if out:
            outing = max(outing, gap)
            continue
        s = minute // tuning.slot_minutes
        gap_min = min(65535, round(gap / 60))
        if gap_min > slot_max[s]:
            slot_max[s] = gap_min
        if minute >= EVENING_FROM_MIN:
            if evening is None or gap_min > evening[1]:
                evening = (minute, gap_min, 0 if evening is None else evening[1])
        elif minute <= SLEEP_START_TO_MIN and (early is None or gap_min > early[1]):
            early = (minute, gap_min, 0 if early is None else early[1])
        if gap >= SLEEP_CHUNK_S:
            if minute <= SLEEP_START_TO_MIN and early_bed is None:
                early_bed = minute
            if bed is None and minute >= BED_FROM_MIN:
                bed = minute
    flush()
    return result


def learn(
    times: Sequence[float], places: Sequence[int], tz_name: str, now: float, tuning: Tuning
) -> Baseline:
    """Learn a baseline from activity at epoch seconds ``times`` (sorted, all before ``now``).

    ``places[i]`` is the room code of activity ``i`` (``rooms.code``: its room and whether it was the
    main door). Uses the last ``tuning.history_days`` complete local days.
    """
    return combine(
        summarise_days(times, places, tz_name, window_days(now, tz_name, tuning), tuning), now, tuning
    )


def window_days(now: float, tz_name: str, tuning: Tuning) -> list[date]:
    """The complete local days a baseline learned at ``now`` uses, oldest first."""
    today, _, _ = local_parts(now, zone(tz_name))
    return [today - timedelta(days=k) for k in range(tuning.history_days, 0, -1)]


def combine(summaries: Sequence[DaySummary], now: float, tuning: Tuning) -> Baseline:
    """A baseline from day summaries (oldest first), blended with the priors while days are few."""
    slots = 1440 // tuning.slot_minutes
    days = len(summaries)
    weekend_days = sum(1 for s in summaries if s.weekend)
    weekday_days = days - weekend_days
    weight = min(1.0, days / tuning.trusted_days)
    early = days < (tuning.trusted_days + 1) // 2
    # the longest gap per slot over weekdays, weekends and all days
    longest = [[0] * slots, [0] * slots]
    for summary in summaries:
        row = longest[1 if summary.weekend else 0]
        for s, gap in enumerate(summary.slot_max_min):
            if gap > row[s]:
                row[s] = gap
    overall = [max(a, b) for a, b in zip(longest[0], longest[1], strict=True)]
    k = tuning.pool_slots
    quiet = bytearray(4 * slots)
    both_pooled = _window_max(overall, k)
    for weekend in (False, True):
        own_days = weekend_days if weekend else weekday_days
        own_pooled = _window_max(longest[1 if weekend else 0], k) if own_days >= MIN_DAYTYPE_DAYS else None
        for s in range(slots):
            both = both_pooled[s]
            pooled = both
            if own_pooled is not None:
                # weekday/weekend apart, but never far below what all days together say
                pooled = max(own_pooled[s], round(0.85 * both))
            pooled_s = pooled * 60.0
            prior = prior_threshold_s(s * tuning.slot_minutes, tuning)
            learned = pooled_s * tuning.gap_factor + tuning.gap_margin_s if pooled else prior
            # the first days are not enough to call anything unusual: never below the prior; then the
            # learned value takes over gradually until the baseline is trusted
            if early:
                value = max(learned, prior) / tuning.sensitivity
            else:
                value = (weight * learned + (1 - weight) * prior) / tuning.sensitivity
            value = min(tuning.max_threshold_s, max(tuning.min_threshold_s, value))
            index = (slots if weekend else 0) + s
            quiet[index] = min(255, math.ceil(value / UNIT_S))
            quiet[2 * slots + index] = min(255, round(pooled_s / UNIT_S))
    pairs = _wakes(summaries)
    wakes = sorted(m for m, _ in pairs)
    latest = tuning.prior_wake_latest_min
    earliest = tuning.prior_wake_earliest_min
    if len(wakes) >= 3:
        w = min(1.0, len(wakes) / tuning.trusted_days)
        # learned from the first few mornings, with an allowance that shrinks as mornings accumulate
        latest = round(_latest(wakes, tuning) + (1 - w) * 60)
        earliest = round(_quantile(wakes, tuning.early_quantile) - (1 - w) * 60)
    # weekends apart once there are a few (never earlier than all days together)
    weekend_wakes = sorted(m for m, weekend in pairs if weekend)
    latest_weekend = latest
    if len(weekend_wakes) >= 3:
        latest_weekend = max(latest, round(_latest(weekend_wakes, tuning)))
    beds = sorted(_beds(summaries))
    bed = tuning.prior_bed_min
    if len(beds) >= 3:
        w = min(1.0, len(beds) / tuning.trusted_days)
        bed = round(w * _quantile(beds, tuning.early_quantile) + (1 - w) * bed)
    nights = _evenings(summaries)
    retire_earliest = min((r for r, _ in nights[-RECENT_NIGHTS:]), default=0)  # habits change
    retire_latest = max((r for r, _ in nights), default=0)
    evening_quiet = max((q for _, q in nights), default=0)
    longest_outing = max((s.longest_outing_s for s in summaries), default=0.0)
    outing = tuning.prior_outing_s
    if longest_outing > 0:
        learned_outing = longest_outing * tuning.outing_factor + tuning.outing_margin_s
        learned_outing = max(learned_outing, 2 * 3600.0)
        outing = max(learned_outing, outing) if early else weight * learned_outing + (1 - weight) * outing
    rooms = 0
    for summary in summaries:
        rooms |= summary.rooms
    (bath_usual, bath_limit), (toilet_usual, toilet_limit) = (
        _stay(summaries, k, tuning) for k in range(len(STAY_ROOMS))
    )
    return Baseline(
        learned_at=now,
        days=days,
        trusted=days >= tuning.trusted_days,
        slot_minutes=tuning.slot_minutes,
        quiet=bytes(quiet),
        wake_earliest_min=earliest,
        wake_latest_min=latest,
        wake_latest_weekend_min=latest_weekend,
        bed_min=bed,
        wake_days=len(wakes),
        # "beyond anything seen before" at any sensitivity
        outing_limit_s=max(outing / tuning.sensitivity, longest_outing + tuning.outing_margin_s),
        longest_outing_s=longest_outing,
        decline=_decline(summaries, tuning),
        retire_earliest_min=retire_earliest,
        retire_latest_min=retire_latest,
        evening_quiet_min=evening_quiet,
        evening_nights=len(nights),
        rooms=rooms,
        bath_usual_min=bath_usual,
        bath_limit_min=bath_limit,
        toilet_usual_min=toilet_usual,
        toilet_limit_min=toilet_limit,
        still=_still(summaries, tuning),
    )


def _stay(summaries: Sequence[DaySummary], k: int, tuning: Tuning) -> tuple[int, int]:
    """(longest stay, limit) in minutes for the ``k``-th STAY_ROOMS room; (0, 0) when the room was
    visited on too few days, or when the resident was once unseen from it for ``stay_blind_s`` (the
    kit cannot see them leave it: asleep next door, in an unwatched living room)."""
    stays = [s.stays[k] for s in summaries if s.stays[k] >= 0]
    if len(stays) < tuning.stay_min_days:
        return 0, 0
    longest = max(stays)
    if longest * 60 >= tuning.stay_blind_s:
        return 0, 0
    limit = max(tuning.stay_floor_s, (longest * 60 + tuning.stay_margin_s) / tuning.sensitivity)
    return longest, math.ceil(limit / 60)


def _still(summaries: Sequence[DaySummary], tuning: Tuning) -> bytes:
    """Per STILL_ROOMS room, the longest stretch that began there and the lying-still limit (minutes,
    capped at 255): that + ``still_margin_s``, at least ``still_floor_s`` (the bathroom: the stay's
    margin and floor), divided by the sensitivity (the floor stays), once the room was seen on
    ``stay_min_days`` days. Unlike stays, a room the
    resident was once unseen from for hours keeps its limit: a presence sensor says they are there."""
    longest = bytearray(len(STILL_ROOMS))
    limits = bytearray(len(STILL_ROOMS))
    for k in range(len(STILL_ROOMS)):
        stays = [s.stays[k] for s in summaries if s.stays[k] >= 0]
        if len(stays) < tuning.stay_min_days:
            continue
        seen = max(stays)
        if STILL_ROOMS[k] is Room.BATHROOM:  # a bath is long and varies: the stay's margin and floor
            floor, margin = tuning.stay_floor_s, tuning.stay_margin_s
        else:
            floor, margin = tuning.still_floor_s, tuning.still_margin_s
        limit = max(floor, (seen * 60 + margin) / tuning.sensitivity)
        longest[k] = min(255, seen)
        limits[k] = min(255, math.ceil(limit / 60))
    return bytes(longest + limits) if any(limits) else b""


def _evenings(summaries: Sequence[DaySummary]) -> list[tuple[int, int]]:
    """(retire, evening quiet) of each night whose next day is summarised too: when the night's sleep
    began (the longest at-home gap from 17:00 to 06:30, at least 2 h; minutes after the evening's
    midnight) and the longest quiet stretch that began in the evening before it (minutes)."""
    by_day = {s.day: s for s in summaries}
    nights = []
    for s in summaries:
        after = by_day.get(s.day + timedelta(days=1))
        if after is None:
            continue
        evening, early = s.evening_gap or (0, 0, 0), after.early_gap or (0, 0, 0)
        if early[1] > evening[1]:  # asleep after midnight: the whole evening came before
            start, longest, before = 1440 + early[0], early[1], max(evening[1], early[2])
        else:
            start, longest, before = evening
        if longest * 60 >= SLEEP_CHUNK_S:
            nights.append((start, before))
    return nights


def _beds(summaries: Sequence[DaySummary]) -> list[int]:
    """Bedtime of each night (minutes after the evening's midnight; after midnight counts on)."""
    by_day = {s.day: s for s in summaries}
    beds = []
    for s in summaries:
        if s.bed_min is not None:
            beds.append(s.bed_min)
            continue
        after = by_day.get(s.day + timedelta(days=1))
        if after is not None and after.early_bed_min is not None:
            beds.append(1440 + after.early_bed_min)
    return beds


def _latest(wakes: Sequence[int], tuning: Tuning) -> float:
    """The usual latest wake-up: the ``wake_quantile`` of the wake-ups, leaving out those more than
    ``wake_outlier_min`` after the median (a morning whose getting-up the sensors missed)."""
    median = _quantile(wakes, 0.5)
    usual = [w for w in wakes if w <= median + tuning.wake_outlier_min]
    return _quantile(usual, tuning.wake_quantile)


def _goes_on(times: Sequence[float], i: int, hi: int) -> bool:
    """Whether activity ``i`` is followed by more 10-60 minutes later (up and about, not a night
    toilet visit)."""
    t = times[i]
    lo_s, hi_s = WAKE_GOES_ON_S
    for j in range(i + 1, hi):
        gap = times[j] - t
        if gap > hi_s:
            return False
        if gap >= lo_s:
            return True
    return False


def _wakes(summaries: Sequence[DaySummary]) -> list[tuple[int, bool]]:
    """(wake-up minute, weekend) of each day that has one."""
    return [(s.wake_min, s.weekend) for s in summaries if s.wake_min is not None]


def prior_baseline(now: float, tuning: Tuning) -> Baseline:
    """The baseline of a household with no history yet."""
    return combine((), now, tuning)


def _window_max(values: list[int], k: int) -> list[int]:
    """For each slot, the largest value within ``k`` slots either side (the day wraps around)."""
    n = len(values)
    ext = values[n - k :] + values + values[:k]
    return [max(ext[s : s + 2 * k + 1]) for s in range(n)]


def _first_at_or_after(times: Sequence[float], start: float) -> int:
    lo, hi = 0, len(times)
    while lo < hi:
        mid = (lo + hi) // 2
        if times[mid] < start:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _midnight(d: date, tz: ZoneInfo) -> float:
    return datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(UTC).timestamp()


def _quantile(sorted_values: Sequence[int], q: float) -> float:
    rank = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return float(sorted_values[rank])


def _decline(summaries: Sequence[DaySummary], tuning: Tuning) -> DeclineSigns | None:
    if not summaries:
        return None
    last = summaries[-1].day
    recent_start = last - timedelta(days=tuning.decline_recent_days - 1)
    before = [s for s in summaries if s.day < recent_start]
    recent = [s for s in summaries if s.day >= recent_start]
    if len(before) < 7 or len(recent) < tuning.decline_recent_days - 1:
        return None

    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else 0.0

    activity = None
    before_act = mean([float(s.count) for s in before])
    recent_act = sum(float(s.count) for s in recent) / tuning.decline_recent_days
    if before_act > 0 and (recent_act - before_act) / before_act <= -tuning.decline_activity_drop:
        activity = (recent_act - before_act) / before_act
    shift = None
    wake_before = sorted(m for m, _ in _wakes(before))
    wake_recent = sorted(m for m, _ in _wakes(recent))
    if len(wake_before) >= 5 and len(wake_recent) >= 4:
        delta = round(_quantile(wake_recent, 0.5) - _quantile(wake_before, 0.5))
        if delta >= tuning.decline_wake_shift_min:
            shift = delta
    ratio = None
    night_before = mean([float(s.night_count) for s in before])
    night_recent = mean([float(s.night_count) for s in recent])
    if night_recent >= 3 and night_recent >= tuning.decline_night_rise * max(night_before, 0.5):
        ratio = night_recent / max(night_before, 0.5)
    if activity is None and shift is None and ratio is None:
        return None
    return DeclineSigns(activity, shift, ratio)
