"""The volunteer pool's pure parts: availability windows, resting, drawing from the pool; the import."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from dashboard.care_records import StateCareRecords
from detection.findings import Audience, FindingKind
from escalation.chain import Progress, build_snapshot
from escalation.drills import ChainDrills, DrillSettings
from escalation.engine import EscalationEngine
from escalation.engine_settings import EngineSettings
from escalation.repository import EscalationRepository
from registry.households_import import import_data
from registry.models import Availability, Contact, ContactRole, NotifyMode, Policy, Tier, TierKind
from registry.volunteers import askable, rest_end, within
from tests.conftest import FIXED_NOW

TOKYO = "Asia/Tokyo"
WEEKDAYS_9_17 = (Availability((0, 1, 2, 3, 4), time(9), time(17)),)
NIGHTS_FRI = (Availability((4,), time(22), time(6)),)


def jst(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of the week of 2026-11-23 (Monday) in Tokyo, as aware UTC."""
    return datetime(2026, 11, 23 + day, hour, minute, tzinfo=UTC) - timedelta(hours=9)


@pytest.mark.parametrize(
    ("windows", "at", "expected"),
    [
        ((), jst(6, 3), True),  # no windows: any time
        (WEEKDAYS_9_17, jst(3, 10), True),  # Thursday 10:00
        (WEEKDAYS_9_17, jst(3, 17), False),  # the end is not in
        (WEEKDAYS_9_17, jst(3, 8, 59), False),
        (WEEKDAYS_9_17, jst(6, 10), False),  # Sunday
        (NIGHTS_FRI, jst(4, 23), True),  # Friday night
        (NIGHTS_FRI, jst(5, 2), True),  # the same window, past midnight (Saturday)
        (NIGHTS_FRI, jst(5, 23), False),  # Saturday night is not Friday's
        (NIGHTS_FRI, jst(4, 2), False),  # Friday 02:00 belongs to Thursday night
    ],
)
def test_windows_in_the_households_time_zone(windows, at, expected) -> None:
    assert within(windows, at, TOKYO) is expected


def test_resting_until_then() -> None:
    until = jst(3, 12)
    assert not askable((), until, until - timedelta(seconds=1), TOKYO)
    assert askable((), until, until, TOKYO)
    assert not askable(WEEKDAYS_9_17, None, jst(6, 10), TOKYO)
    # a bare date rests through that day, Japan time
    assert rest_end(date(2026, 11, 26)) == jst(4, 0)
    with pytest.raises(ValueError, match="time zone"):
        rest_end(datetime(2026, 11, 26, 12, 0))


def _v(cid: str, **kw) -> Contact:
    return Contact(cid, cid.upper(), f"+8190000001{len(cid):02d}", ContactRole.VOLUNTEER, **kw)


POOL = [_v("pa", pools=("org",)), _v("pb", pools=("org",)), _v("pc", pools=("org",))]
OWN = _v("own")
POLICY = Policy(
    "h",
    (
        Tier(TierKind.VOLUNTEERS, ("own",), NotifyMode.ONE_BY_ONE, 10, pool=True, pool_size=2),
        Tier(TierKind.PROFESSIONALS, ("pro",), NotifyMode.ALL, 30),
    ),
    volunteer_weekly_cap=2,
)
PRO = Contact("pro", "Pro", "+819000000031", ContactRole.PROFESSIONAL)


def _waves(load=None, unavailable=frozenset(), policy=POLICY) -> list[list[str]]:
    snap = build_snapshot(
        policy,
        {"own": OWN, "pro": PRO},
        kind=FindingKind.INACTIVITY,
        audience=Audience.COMMUNITY,
        time_zone=TOKYO,
        load=load or {},
        operators=(),
        blind_hold_minutes=5,
        pool=POOL,
        unavailable=unavailable,
    )
    return [[c.id for c in w.contacts] for w in snap.waves]


WEEK = FIXED_NOW - timedelta(days=1)


@pytest.mark.parametrize(
    ("load", "unavailable", "expected"),
    [
        ({}, frozenset(), [["own"], ["pa"], ["pb"], ["pro"]]),
        # round-robin: least recently alerted first
        (
            {"pa": (1, WEEK), "pb": (1, WEEK + timedelta(hours=1))},
            frozenset(),
            [["own"], ["pc"], ["pa"], ["pro"]],
        ),
        # resting or outside their hours: never drawn
        ({}, frozenset({"pa"}), [["own"], ["pb"], ["pc"], ["pro"]]),
        # over the weekly cap: the others first, the capped only when nobody else is left
        ({"pa": (2, WEEK), "pb": (2, WEEK)}, frozenset(), [["own"], ["pc"], ["pro"]]),
        (
            {"pa": (2, WEEK), "pb": (2, WEEK + timedelta(hours=1))},
            frozenset({"pc"}),
            [["own"], ["pa"], ["pb"], ["pro"]],
        ),
        # the tier's own volunteer stays (skipped when the wave comes if still unavailable)
        ({}, frozenset({"own", "pa", "pb", "pc"}), [["own"], ["pro"]]),
    ],
)
def test_a_pool_tier_draws_round_robin_among_the_available(load, unavailable, expected) -> None:
    assert _waves(load, unavailable) == expected


def test_a_tier_without_pool_never_draws_from_it() -> None:
    plain = Policy("h", (Tier(TierKind.VOLUNTEERS, ("own",)),))
    assert _waves(policy=plain) == [["own"]]


def test_unavailable_volunteers_are_unreachable_when_their_wave_comes() -> None:
    assert Progress(unavailable=frozenset({"pa"})).unreachable("pa")
    assert not Progress().unreachable("pa")


def test_the_households_file_carries_availability_rest_and_pool_tiers(tmp_path: Path) -> None:
    repo = EscalationRepository(tmp_path / "state.sqlite3")
    repo.open()
    data = {
        "organisations": [{"id": "org", "name": "Org"}],
        "contacts": [
            {
                "id": "v1",
                "name": "V1",
                "phone": "+819000000021",
                "role": "volunteer",
                "pools": ["org"],
                "availability": [
                    {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
                ],
                "resting_until": date(2026, 11, 30),
            },
            {
                "id": "v2",
                "name": "V2",
                "phone": "+819000000022",
                "role": "volunteer",
                "availability": [{"days": ["sun", "sun"], "start": "09:00", "end": "17:00"}],
            },
            {
                "id": "v3",
                "name": "V3",
                "phone": "+819000000023",
                "role": "volunteer",
                "availability": [{"days": ["mon"], "start": "09:00", "end": "09:00"}],
            },
            {
                "id": "n1",
                "name": "N1",
                "phone": "+819000000011",
                "role": "neighbour",
                "resting_until": "2026-12-01",
            },
            {
                "id": "v4",
                "name": "V4",
                "phone": "+819000000024",
                "role": "volunteer",
                "resting_until": "2026-12-01T10:00:00",
            },
        ],
        "households": [
            {
                "id": "h1",
                "name": "H1",
                "organisation": "org",
                "policy": {
                    "tiers": [{"kind": "volunteers", "pool": True, "pool_size": 2, "mode": "one_by_one"}]
                },
            },
            {"id": "h2", "name": "H2", "policy": {"tiers": [{"kind": "neighbours", "pool": True}]}},
            {"id": "h3", "name": "H3", "policy": {"tiers": [{"kind": "volunteers"}]}},
        ],
    }
    report = import_data(repo, data, FIXED_NOW)
    rejected = "\n".join(report.rejected)
    assert [r.split(":")[0] for r in report.rejected] == [
        "contacts[1] (v2)",
        "contacts[2] (v3)",
        "contacts[3] (n1)",
        "contacts[4] (v4)",
        "households[1] (h2)",
        "households[2] (h3)",
    ], rejected
    assert "each day at most once" in rejected
    assert "end must differ from start" in rejected
    assert "are for volunteers" in rejected
    assert "needs a time zone" in rejected
    assert "only a volunteers tier draws on the pool" in rejected
    assert "or pool: true" in rejected
    assert repo.availability(["v1"]) == {"v1": WEEKDAYS_9_17}
    assert repo.resting(["v1"], FIXED_NOW) == {"v1": rest_end(date(2026, 11, 30))}
    policy = repo.policy("h1")
    assert policy is not None
    assert policy.tiers[0].pool
    assert policy.tiers[0].pool_size == 2
    assert [c.id for c in repo.pool("org")] == ["v1"]
    # a pooled volunteer is in no household's chain, and still gets the chain health drill
    engine = EscalationEngine(repo, EngineSettings("http://localhost", b"k" * 32))
    ChainDrills(repo, engine, DrillSettings()).start_run(FIXED_NOW)
    assert "v1" in {contact for _, contact, _ in repo.pending_drills()}
    # a care manager's edit of the tier in the dashboard keeps its pool
    records = StateCareRecords(repo)
    records.save_policy("h1", records.policy("h1"), actor="care_manager:sato", now=FIXED_NOW)
    assert repo.policy("h1") == policy
    # a file without the keys leaves them as they are; an empty list and null clear them
    data["contacts"] = [{"id": "v1", "name": "V1", "phone": "+819000000021", "role": "volunteer"}]
    import_data(repo, data, FIXED_NOW)
    assert repo.availability(["v1"])
    assert repo.resting(["v1"], FIXED_NOW)
    data["contacts"] = [{**data["contacts"][0], "availability": [], "resting_until": None}]
    import_data(repo, data, FIXED_NOW)
    assert repo.availability(["v1"]) == {}
    assert repo.resting(["v1"], FIXED_NOW) == {}
    repo.close()


def test_a_short_simulated_month_is_fair_and_asks_nobody_off_duty() -> None:
    """The fast tier of benchmarks/volunteer_fairness.py (the month of 200 alerts is measured there)."""
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "volunteer_fairness.py"
    done = subprocess.run(
        [sys.executable, str(script), "--alerts", "40", "--volunteers", "9"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["alerts_off_duty_or_resting"] == 0
    all_hours = result["per_volunteer_on_duty_all_hours"]
    assert all_hours["max"] - all_hours["min"] <= 1, result
    assert all_hours["stddev"] < result["baseline_random_all_hours"]["stddev"]
