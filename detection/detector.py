"""The pure detector: when a quiet household becomes a finding, and why.

Everything here is a function of (baseline, the household's live state, its profile, ``now``): no
I/O, no clock. Times are epoch seconds (floats) in the hot path and aware datetimes in findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from detection.baseline import RECENT_NIGHTS, STILL_ROOMS, Baseline, DeclineSigns, local_parts, zone
from detection.findings import Explanation, Finding, FindingKind, Severity
from detection.learning import ALL_DAY, BAND_MIN, Rule, scale, stretched
from detection.model import AwayWindow, Profile, TechnicalView, Tuning
from detection.occupancy import BED, OUT_OF_BED, still_rooms
from detection.rooms import Room
from registry.models import Switch

SEVERITY: dict[FindingKind, Severity] = {
    FindingKind.HELP_BUTTON: Severity.URGENT,
    FindingKind.INACTIVITY: Severity.URGENT,
    FindingKind.MISSED_WAKEUP: Severity.URGENT,
    FindingKind.NIGHT_EXIT: Severity.URGENT,
    FindingKind.EVENING_QUIET: Severity.URGENT,
    FindingKind.LONG_ABSENCE: Severity.WARNING,
    FindingKind.BLIND_GATEWAY: Severity.WARNING,
    FindingKind.BLIND_SENSORS: Severity.WARNING,
    FindingKind.DEVICE_SILENT: Severity.WARNING,
    FindingKind.STUCK_SENSOR: Severity.WARNING,
    FindingKind.LOW_BATTERY: Severity.INFO,
    FindingKind.SLOW_DECLINE: Severity.INFO,
    FindingKind.NOT_BACK: Severity.WARNING,
}


class HouseholdStatus(StrEnum):
    """The four states of principle 2, for the dashboard."""

    ACTIVE = "active"
    QUIET = "quiet"  # alarming inactivity (a community finding is due or raised)
    BLIND = "blind"  # we cannot tell: gateway or sensors offline
    AWAY = "away"


def utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def local_clock(t: float, tz_name: str, now: float | None = None) -> str:
    """``07:10``, or ``11/27 07:10`` when ``t`` is not on the same local day as ``now``."""
    tz = zone(tz_name)
    d = datetime.fromtimestamp(t, tz)
    text = f"{d.hour:02d}:{d.minute:02d}"
    if now is not None and datetime.fromtimestamp(now, tz).date() != d.date():
        text = f"{d.month}/{d.day} {text}"
    return text


def clock_of(minutes: int) -> str:
    """``8:05`` for 485 minutes after midnight (minutes past the next midnight wrap round)."""
    minutes %= 1440
    return f"{minutes // 60}:{minutes % 60:02d}"


def is_night(minute_of_day: int, tuning: Tuning) -> bool:
    if tuning.night_start_min > tuning.night_end_min:
        return minute_of_day >= tuning.night_start_min or minute_of_day < tuning.night_end_min
    return tuning.night_start_min <= minute_of_day < tuning.night_end_min


@dataclass(frozen=True, slots=True)
class DueFinding:
    """The community finding a quiet stretch leads to if nothing happens, and when; ``room``: where the
    stretch began; ``stay``: decided by how long the resident usually stays in that room; ``occupancy``:
    decided by a presence sensor or bed pad (``still``: present and not moving in ``room``;
    ``out_of_bed``: out of bed at night)."""

    at: float
    kind: FindingKind
    room: Room = Room.OTHER
    stay: bool = False
    occupancy: str = ""


def wake_by_min(baseline: Baseline, weekend: bool) -> int:
    return baseline.wake_latest_weekend_min if weekend else baseline.wake_latest_min


def missed_wakeup_at(start: float, baseline: Baseline, tz_name: str, tuning: Tuning) -> float:
    """When a stretch from ``start`` means the resident has not got up: usual latest wake-up + margin
    of the same morning if it began before that wake-up, else of the next morning."""
    tz = zone(tz_name)
    day, minute, weekend = local_parts(start, tz)
    if minute >= wake_by_min(baseline, weekend):
        day += timedelta(days=1)
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
    return midnight.timestamp() + wake_by_min(baseline, midnight.weekday() >= 5) * 60 + tuning.wake_margin_s


def asleep_expected(minute_of_day: int, baseline: Baseline, lead_min: int = 0) -> bool:
    """From the usual earliest bedtime (less ``lead_min``) until half an hour before the usual earliest
    wake-up."""
    wake = baseline.wake_earliest_min - 30
    bed = baseline.bed_min - lead_min
    if bed >= 1440:
        return bed - 1440 <= minute_of_day < wake
    return minute_of_day >= bed or minute_of_day < wake


def evening_check_on(profile: Profile, baseline: Baseline) -> bool:
    """The evening check: switched on or off, or by itself (``auto``) where no activity was seen in
    the living room or the bedroom over the history (the kit cannot see where evenings are spent)."""
    if profile.evening_check is Switch.AUTO:
        return not (baseline.sees(Room.LIVING) or baseline.sees(Room.BEDROOM))
    return profile.evening_check is Switch.ON


def stay_due(start: float, room: Room, baseline: Baseline, limit_s: float) -> DueFinding | None:
    """A stretch that began in the bathroom or toilet, judged against the longest stay seen there
    (None: no such rule for this room and kit, see ``baseline._stay``); ``limit_s``: the household's
    limit (the baseline's, adjusted by ``learning.stretched``)."""
    if not baseline.stay(room)[1]:
        return None
    return DueFinding(start + limit_s, FindingKind.INACTIVITY, room, stay=True)


def still_due(start: float, occupied: int, baseline: Baseline, tuning: Tuning) -> DueFinding | None:
    """Present and not moving: a room whose presence sensor says occupied, judged against the longest
    stretch seen beginning there (``Baseline.still_min``; ``tuning.still_prior_s`` until learned); the
    soonest such room. Only rooms where people do not lie still (``baseline.STILL_ROOMS``: not the
    living room, the bedroom or the entrance)."""
    due: DueFinding | None = None
    for room in still_rooms(occupied):
        if room not in STILL_ROOMS:
            continue
        _, limit = baseline.still_min(room)
        at = start + (limit * 60.0 if limit else tuning.still_prior_s)
        if due is None or at < due.at:
            due = DueFinding(at, FindingKind.INACTIVITY, room, occupancy="still")
    return due


def evening_due(start: float, baseline: Baseline, tz_name: str, tuning: Tuning) -> DueFinding | None:
    """The evening check (where it is on: kits that cannot see where the evening is spent).

    A stretch that began in the evening (from noon) before the earliest start of sleep of the recent
    nights (- margin) and that by the latest start of sleep seen (+ margin) has lasted longer than any
    evening quiet seen (+ the gap margin) is unlike every night learned: the resident did none of the
    evening's usual things. It is raised once it has lasted that long, but not sooner than
    ``tuning.evening_early_s`` before that latest start (+ margin): a night may begin a little earlier
    than any seen. None: not applicable, or fewer than ``tuning.evening_min_nights`` nights.
    """
    if baseline.evening_nights < tuning.evening_min_nights:
        return None
    tz = zone(tz_name)
    day, minute, _ = local_parts(start, tz)
    if minute < 12 * 60:  # after midnight: the evening began the day before
        day -= timedelta(days=1)
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
    at = midnight + baseline.retire_latest_min * 60 + tuning.evening_margin_s
    before = midnight + baseline.retire_earliest_min * 60 - tuning.evening_margin_s
    quiet = baseline.evening_quiet_min * 60 * tuning.gap_factor + tuning.gap_margin_s
    if not midnight + 12 * 3600 <= start < before or start + quiet > at:
        return None
    return DueFinding(max(start + quiet, at - tuning.evening_early_s), FindingKind.EVENING_QUIET)


def community_due(
    start: float,
    out: bool,
    baseline: Baseline,
    profile: Profile,
    tuning: Tuning,
    room: Room = Room.OTHER,
    occupied: int = 0,
) -> DueFinding:
    """The first community finding a quiet stretch from ``start`` would raise.

    ``out`` means the stretch began with the main door (probably out): then only the gentler long
    absence applies, or a night exit where the care manager enabled it. A stretch that begins while
    the resident is usually asleep, or in the bedroom from ``tuning.bedroom_evening_s`` before the usual
    bedtime, is judged by the wake-up alone (sleep is quiet), and so is one that began in a hallway
    (``other``) of a kit that does not see the bedroom (the way to bed), though the evening check, the
    bathroom's stay and lying still may raise it sooner; one that begins in the wake-up window
    (the resident may be up, or back in bed) waits for both the wake-up deadline and the quiet-gap
    threshold; during the day the quiet-gap threshold decides. ``room`` (where the stretch began):
    a stretch that began in the bathroom or toilet is also judged by the usual stay there.
    ``occupied``: what presence sensors and bed pads say (detection/occupancy.py; 0 without them):
    the bed occupied while sleep is expected is sleep; out of bed at night, or present somewhere
    with nothing moving, is raised sooner.
    """
    tz = zone(profile.tz)
    _, minute, weekend = local_parts(start, tz)
    if out:
        stretch = scale(profile, Rule.OUTING, ALL_DAY, start, tuning)
        limit = stretched(Rule.OUTING, baseline.outing_limit_s, stretch, baseline, tuning)
        due = DueFinding(start + limit, FindingKind.LONG_ABSENCE, room)
        if profile.night_exit_enabled and is_night(minute, tuning):
            due = DueFinding(start + tuning.night_exit_after_s, FindingKind.NIGHT_EXIT, room)
        return due
    wake = DueFinding(missed_wakeup_at(start, baseline, profile.tz, tuning), FindingKind.MISSED_WAKEUP, room)
    way_to_bed = room is Room.OTHER and not baseline.sees(Room.BEDROOM)  # a hallway, the bedroom unseen
    bedtime = (room is Room.BEDROOM or occupied or way_to_bed) and asleep_expected(
        minute, baseline, int(tuning.bedroom_evening_s // 60)
    )
    if occupied & OUT_OF_BED and bedtime:  # not back in bed: raised sooner than the wake-up
        due = DueFinding(
            start + tuning.out_of_bed_s, FindingKind.INACTIVITY, Room.BEDROOM, occupancy="out_of_bed"
        )
    elif bedtime and (room is Room.BEDROOM or occupied & BED):
        return wake
    elif bedtime and way_to_bed:
        due = wake  # the bathroom's, lying still's and the evening's rules below still apply
    else:
        stretch = scale(profile, Rule.QUIET, minute // BAND_MIN, start, tuning)
        threshold = quiet_threshold(baseline, weekend, minute, room, stretch, tuning)
        due = _home_due(start, minute, weekend, baseline, wake, room, threshold)
    stay = None
    if room is Room.BATHROOM or room is Room.TOILET:
        rule = Rule(room.value)
        stretch = scale(profile, rule, ALL_DAY, start, tuning)
        stay = stay_due(
            start, room, baseline, stretched(rule, baseline.stay(room)[1] * 60.0, stretch, baseline, tuning)
        )
    if stay is not None and stay.at < due.at:
        due = stay
    still = still_due(start, occupied, baseline, tuning) if occupied else None
    if still is not None and still.at < due.at:
        due = still
    if evening_check_on(profile, baseline):
        evening = evening_due(start, baseline, profile.tz, tuning)
        if evening is not None and evening.at < due.at:
            return DueFinding(evening.at, evening.kind, room)
    return due


def quiet_threshold(
    baseline: Baseline, weekend: bool, minute: int, room: Room, stretch: float, tuning: Tuning
) -> float:
    """The time slot's quiet threshold for a stretch that began in ``room`` (seconds), times
    ``stretch`` (outcomes and sensitivity) within its bounds.

    Where the rooms say more than the slot: a stretch that began in the living room is judged at the
    slot's learned threshold down to ``tuning.living_floor_s`` rather than the general floor (the room
    is seen, and where it is the slot's longest gaps are short); one that began in a hallway (`other`)
    of a kit that sees neither the living room nor the bedroom is a resident gone on to a room no
    sensor sees, and waits ``tuning.pass_through_factor`` times as long.
    """
    if room is Room.OTHER and not (baseline.sees(Room.LIVING) or baseline.sees(Room.BEDROOM)):
        stretch *= tuning.pass_through_factor
    slot = baseline.threshold_s(weekend, minute)
    threshold = stretched(Rule.QUIET, slot, stretch, baseline, tuning)
    if room is Room.LIVING and slot <= tuning.min_threshold_s:
        usual = baseline.usual_quiet_s(weekend, minute)
        if usual:
            learned = (usual * tuning.gap_factor + tuning.living_margin_s) * stretch / tuning.sensitivity
            return max(tuning.living_floor_s, min(threshold, learned))
    return threshold


def _home_due(
    start: float,
    minute: int,
    weekend: bool,
    baseline: Baseline,
    wake: DueFinding,
    room: Room,
    threshold: float,
) -> DueFinding:
    if asleep_expected(minute, baseline):
        return wake
    quiet = DueFinding(start + threshold, FindingKind.INACTIVITY, room)
    if minute < wake_by_min(baseline, weekend):  # the wake-up window
        return quiet if quiet.at > wake.at else wake
    return wake if wake.at < quiet.at else quiet


def stretch_start(last: float, profile: Profile, now: float) -> tuple[float, bool]:
    """Where the quiet stretch begins: the last activity, or the end of an away period after it.

    An away period that ended after the last activity restarts the stretch as "probably out", so a
    resident coming home late from a trip gets the gentle long-absence rule, not an inactivity alarm.
    Periods that have not begun by ``now`` (next week's day service) do not count yet.
    """
    ends = [
        p.end.timestamp() for p in profile.away if last < p.end.timestamp() and p.start.timestamp() <= now
    ]
    if ends:
        return max(last, max(ends)), True
    return last, False


def not_back_due(
    last: float, profile: Profile, tuning: Tuning, now: float
) -> tuple[float, AwayWindow] | None:
    """The care-calendar absence the resident may not be back from, and when it falls due.

    The latest calendar absence that has begun by ``now`` and ended after the last activity: if nothing
    is seen by its end + ``tuning.not_back_margin_s``, the care manager is told (``not_back``); an away
    period that began before then (from day service straight to a family visit) moves it to its own end.
    """
    pending = [
        w for w in profile.away if w.occurrence and w.start.timestamp() <= now and last < w.end.timestamp()
    ]
    if not pending:
        return None
    window = max(pending, key=lambda w: w.end)
    back_by = window.end.timestamp()
    for other in sorted(profile.away, key=lambda w: w.start):  # away again before it was due: wait for that
        if other.start.timestamp() <= min(now, back_by + tuning.not_back_margin_s) < other.end.timestamp():
            back_by = max(back_by, other.end.timestamp())
    return back_by + tuning.not_back_margin_s, window


def not_back_finding(household: str, window: AwayWindow, last: float, tz: str, now: float) -> Finding:
    """Not back from a care-calendar absence: once per occurrence (entry and day)."""
    params: dict[str, str | int | float] = {"end": local_clock(window.end.timestamp(), tz, now)}
    if window.label:
        params["label"] = window.label
    return Finding(
        household=household,
        kind=FindingKind.NOT_BACK,
        severity=SEVERITY[FindingKind.NOT_BACK],
        raised_at=utc(now),
        episode=f"not_back:{window.occurrence}",
        last_activity_at=utc(last),
        explanation=Explanation("not_back" if window.label else "not_back.unlabelled", params),
    )


def community_finding(
    household: str,
    due: DueFinding,
    last: float,
    baseline: Baseline,
    profile: Profile,
    now: float,
) -> Finding:
    """The finding for a due stretch, with its explanation."""
    tz = profile.tz
    since = local_clock(last, tz, now)
    params: dict[str, str | int | float] = {"since": since, "days": baseline.days}
    if due.room not in (Room.OTHER, Room.ENTRANCE):  # outings' explanations say 玄関 already
        params["room"] = due.room.value
    if due.stay:
        params["usual_min"] = baseline.stay(due.room)[0]
        params["quiet_min"] = round((now - last) / 60)
        return _finding(household, due, last, now, Explanation(f"inactivity.{due.room.value}", params))
    if due.occupancy:
        params["quiet_min"] = round((now - last) / 60)
        key = f"inactivity.{due.occupancy}"
        if due.occupancy == "still":
            longest = baseline.still_min(due.room)[0]
            if longest:
                params["usual_min"] = longest
            else:
                key = "inactivity.still_unlearned"
        else:
            params.pop("room", None)  # "out of bed" says the bedroom itself
        return _finding(household, due, last, now, Explanation(key, params))
    if due.kind is FindingKind.MISSED_WAKEUP:
        wake_day = datetime.fromtimestamp(due.at, zone(tz))
        params["wake_by"] = clock_of(wake_by_min(baseline, wake_day.weekday() >= 5))
        params["days"] = baseline.wake_days
    elif due.kind is FindingKind.EVENING_QUIET:
        params["active_until"] = clock_of(baseline.retire_earliest_min)
        params["days"] = min(baseline.evening_nights, RECENT_NIGHTS)  # the nights that time is from
    elif due.kind is FindingKind.INACTIVITY:
        _, minute, weekend = local_parts(last, zone(tz))
        usual = baseline.usual_quiet_s(weekend, minute) or baseline.threshold_s(weekend, minute)
        params["usual_h"] = round(usual / 3600, 1)
        params["quiet_h"] = round((now - last) / 3600, 1)
    elif due.kind is FindingKind.LONG_ABSENCE:
        params["longest_h"] = round(baseline.longest_outing_s / 3600, 1)
        params["quiet_h"] = round((now - last) / 3600, 1)
    key = due.kind.value if baseline.trusted else f"{due.kind.value}.prior"
    return _finding(household, due, last, now, Explanation(key, params))


def _finding(household: str, due: DueFinding, last: float, now: float, explanation: Explanation) -> Finding:
    return Finding(
        household=household,
        kind=due.kind,
        severity=SEVERITY[due.kind],
        raised_at=utc(now),
        episode=f"quiet:{int(last)}",
        last_activity_at=utc(last),
        explanation=explanation,
    )


def help_finding(household: str, pressed: float, device: str, tz: str, now: float) -> Finding:
    return Finding(
        household=household,
        kind=FindingKind.HELP_BUTTON,
        severity=Severity.URGENT,
        raised_at=utc(now),
        episode=f"button:{int(pressed)}",
        last_activity_at=utc(pressed),
        explanation=Explanation("help_button", {"at": local_clock(pressed, tz, now)}),
        device=device,
    )


def decline_finding(
    household: str, decline: DeclineSigns, last: float | None, tz: str, now: float
) -> Finding:
    """Slow decline, at most once a week per household."""
    year, week, _ = datetime.fromtimestamp(now, zone(tz)).isocalendar()
    params: dict[str, str | int | float] = {}
    if decline.activity_change is not None:
        params["activity_pct"] = round(-100 * decline.activity_change)
    if decline.wake_shift_min is not None:
        params["wake_shift_min"] = decline.wake_shift_min
    if decline.night_ratio is not None:
        params["night_ratio"] = round(decline.night_ratio, 1)
    return Finding(
        household=household,
        kind=FindingKind.SLOW_DECLINE,
        severity=Severity.INFO,
        raised_at=utc(now),
        episode=f"decline:{year}-W{week:02d}",
        last_activity_at=None if last is None else utc(last),
        explanation=Explanation("slow_decline", params),
    )


def blind_kind(view: TechnicalView, checkins_seen: bool, tuning: Tuning, now: float) -> FindingKind | None:
    """Why we cannot tell, if we cannot: gateway offline, or every sensor silent.

    "Every sensor silent" needs devices that normally check in; without check-ins a silent home is
    indistinguishable from a quiet one, and quiet must never be hidden as blind.
    """
    since = view.gateway_offline_since
    if since is not None and now - since.timestamp() >= tuning.gateway_grace_s:
        return FindingKind.BLIND_GATEWAY
    if checkins_seen and view.devices:
        newest = max(d.last_seen_at.timestamp() for d in view.devices)
        if now - newest >= tuning.sensors_silent_s:
            return FindingKind.BLIND_SENSORS
    return None


def technical_findings(
    household: str,
    view: TechnicalView,
    checkins_seen: bool,
    last: float | None,
    tz: str,
    tuning: Tuning,
    now: float,
) -> list[Finding]:
    """Blind and per-device findings (technical audience only)."""
    found: list[Finding] = []

    def add(
        kind: FindingKind, episode: str, key_params: dict[str, str | int | float], device: str | None
    ) -> None:
        found.append(
            Finding(
                household=household,
                kind=kind,
                severity=SEVERITY[kind],
                raised_at=utc(now),
                episode=episode,
                last_activity_at=None if last is None else utc(last),
                explanation=Explanation(kind.value, key_params),
                device=device,
            )
        )

    blind = blind_kind(view, checkins_seen, tuning, now)
    if blind is FindingKind.BLIND_GATEWAY and view.gateway_offline_since is not None:
        since = view.gateway_offline_since.timestamp()
        add(blind, f"gateway:{int(since)}", {"since": local_clock(since, tz, now)}, None)
    elif blind is FindingKind.BLIND_SENSORS:
        newest = max(d.last_seen_at.timestamp() for d in view.devices)
        add(blind, f"sensors:{int(newest)}", {"since": local_clock(newest, tz, now)}, None)
    if blind is not None:
        return found  # per-device problems are meaningless while the whole home is dark
    activity_devices = sum(1 for d in view.devices if d.kind in ("motion", "door", "power"))
    if (
        view.solo_device is not None
        and view.solo_since is not None
        and last is not None
        and activity_devices >= 2
    ):
        since = view.solo_since.timestamp()
        if last - since >= tuning.stuck_solo_s:
            # one sensor keeps "seeing" someone for half a day (its latest report is that long after
            # its first) and no other sensor does: it may be stuck, and a stuck sensor would hide a
            # fall. One sensor alone and then silence is a quiet home, not a stuck sensor.
            add(
                FindingKind.STUCK_SENSOR,
                f"stuck:{view.solo_device}:{int(since)}",
                {"device": view.solo_device, "since": local_clock(since, tz, now)},
                view.solo_device,
            )
    for d in view.devices:
        seen = d.last_seen_at.timestamp()
        if checkins_seen and now - seen >= tuning.device_silent_s:
            add(
                FindingKind.DEVICE_SILENT,
                f"silent:{d.device}:{int(seen)}",
                {"device": d.device, "since": local_clock(seen, tz, now)},
                d.device,
            )
        if d.battery is not None and d.battery <= tuning.low_battery_pct:
            year, week, _ = datetime.fromtimestamp(now, zone(tz)).isocalendar()
            add(
                FindingKind.LOW_BATTERY,
                f"battery:{d.device}:{year}-W{week:02d}",  # repeated weekly until replaced
                {"device": d.device, "pct": round(d.battery)},
                d.device,
            )
    return found


def classify(
    last: float | None,
    due: DueFinding | None,
    raised: bool,
    blind: bool,
    profile: Profile,
    now: float,
) -> HouseholdStatus:
    """The dashboard state of a household at ``now``."""
    if profile.away_at(utc(now)) is not None:
        return HouseholdStatus.AWAY
    if blind:
        return HouseholdStatus.BLIND
    if last is None:
        return HouseholdStatus.BLIND
    if raised or (due is not None and now >= due.at):
        return HouseholdStatus.QUIET
    return HouseholdStatus.ACTIVE
