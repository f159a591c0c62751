"""Who is safe, who cannot be seen, and who to reach first (pure functions of a check's records).

A household is **safe** once its resident answered (SMS or one-tap link), a volunteer reported it safe,
or its sensors saw activity ``ignore_minutes`` or more after the start (the quake itself trips
sensors); **unknown** while it is blind (gateway offline, power or network out); otherwise
**waiting**. The unknown and waiting households are ordered by need (:func:`need_key`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from escalation.disaster.models import CheckHousehold, DisasterCheck, SafeBy, Standing
from mimamori.sqlite import opt_db_time
from registry.models import Need

NEED_WEIGHT: Mapping[Need, int] = {Need.OXYGEN: 8, Need.MOBILITY: 4, Need.DEMENTIA: 2, Need.HEARING: 1}
"""Home oxygen needs power now; someone who cannot walk cannot leave; dementia, then hearing."""


def shows_life(activity_at: datetime | None, started_at: datetime, ignore_minutes: int) -> bool:
    """Activity this late after the start is the resident, not the quake."""
    return activity_at is not None and activity_at >= started_at + timedelta(minutes=ignore_minutes)


def standing(h: CheckHousehold) -> Standing:
    if h.safe_at is not None:
        return Standing.SAFE
    return Standing.UNKNOWN if h.blind else Standing.WAITING


def no_sign_since(h: CheckHousehold, started_at: datetime) -> bool:
    """Nothing at all seen since the start, not even in the quake's own minutes."""
    return h.last_activity_at is None or h.last_activity_at < started_at


def need_key(h: CheckHousehold, started_at: datetime) -> tuple[Any, ...]:
    """Sort key, most urgent first: asked for help; no sign of life since the event; lives alone;
    needs (oxygen, mobility, dementia, hearing); the longest since any activity; then the id."""
    seen = h.last_activity_at.timestamp() if h.last_activity_at is not None else float("-inf")
    return (
        h.help_at is None,
        not no_sign_since(h, started_at),
        not h.lives_alone,
        -sum(NEED_WEIGHT[n] for n in h.needs),
        seen,
        h.household,
    )


def ordered(households: Iterable[CheckHousehold], started_at: datetime) -> list[CheckHousehold]:
    """The households not known safe, most urgent first."""
    rest = [h for h in households if standing(h) is not Standing.SAFE]
    return sorted(rest, key=lambda h: need_key(h, started_at))


@dataclass(frozen=True, slots=True)
class Counts:
    households: int
    safe: int
    unknown: int
    waiting: int
    safe_by: Mapping[SafeBy, int]


def counts(households: Sequence[CheckHousehold]) -> Counts:
    by = {s: 0 for s in SafeBy}
    for h in households:
        if h.safe_by is not None:
            by[h.safe_by] += 1
    tally = {s: 0 for s in Standing}
    for h in households:
        tally[standing(h)] += 1
    return Counts(len(households), tally[Standing.SAFE], tally[Standing.UNKNOWN], tally[Standing.WAITING], by)


def household_row(h: CheckHousehold, started_at: datetime, name: str = "") -> dict[str, Any]:
    """One household of ``ordered`` as the status JSON lists it (times ISO 8601 UTC)."""
    return {
        "household": h.household,
        "name": name,
        "area": h.area,
        "standing": standing(h).value,
        "help": h.help_at is not None,
        "no_sign_since_start": no_sign_since(h, started_at),
        "lives_alone": h.lives_alone,
        "needs": [n.value for n in h.needs],
        "last_activity_at": opt_db_time(h.last_activity_at),
        "texted": h.texted_at is not None,
        "volunteer_asked": h.asked_at is not None,
        "visiting": h.visiting,
    }


def status(
    check: DisasterCheck, households: Sequence[CheckHousehold], names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """What ``disaster-check status --json`` prints and the dashboard shows."""
    c = counts(households)
    started = check.started_at
    names = names or {}
    return {
        "id": check.id,
        "organisation": check.organisation,
        "area": check.area,
        "requested_at": opt_db_time(check.requested_at),
        "started_at": opt_db_time(started),
        "ends_at": opt_db_time(check.ends_at),
        "ended_at": opt_db_time(check.ended_at),
        "households": c.households,
        "safe": c.safe,
        "unknown": c.unknown,
        "waiting": c.waiting,
        "safe_by": {s.value: n for s, n in c.safe_by.items()},
        "ordered": []
        if started is None
        else [household_row(h, started, names.get(h.household, "")) for h in ordered(households, started)],
    }
