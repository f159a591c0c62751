"""The watchdog's pure core: one outage message, one recovery, never a storm (a fixed clock, a script)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.watchdog.outage import Notice, NoticeKind, Observation, Outage, Part, Route, assess

T0 = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
HOLD = timedelta(minutes=2)
OK = frozenset[Part]()


def run(script: list[tuple[int, frozenset[Part]]]) -> list[tuple[int, Notice]]:
    """Feed readings minute by minute (minute, parts failing); every part is read each time."""
    outages: dict[Route, Outage] = {}
    told: list[tuple[int, Notice]] = []
    for minute, failing in script:
        readings = [Observation(p, p in failing, 7 if p in failing else 0) for p in Part]
        outages, notices = assess(outages, readings, T0 + timedelta(minutes=minute), HOLD)
        told.extend((minute, n) for n in notices)
    return told


def minutes(failing: dict[range, frozenset[Part]], until: int) -> list[tuple[int, frozenset[Part]]]:
    return [(m, next((parts for r, parts in failing.items() if m in r), OK)) for m in range(until)]


GW, INGEST, DET, SMS = Part.GATEWAYS, Part.INGEST, Part.DETECTOR, Part.SMS

CASES = [
    ("all well: nothing", {}, []),
    ("a blip shorter than the hold: nobody told", {range(3, 4): frozenset({GW})}, []),
    (
        "broker down: no heartbeat and ingest still, one message, one recovery",
        {range(5, 30): frozenset({GW, INGEST})},
        [
            (7, "platform", "outage", ("gateways", "ingest")),
            (32, "platform", "recovered", ("gateways", "ingest")),
        ],
    ),
    (
        "a symptom joining later is part of the same outage",
        {range(5, 9): frozenset({GW}), range(9, 20): frozenset({GW, DET})},
        [(7, "platform", "outage", ("gateways",)), (22, "platform", "recovered", ("gateways",))],
    ),
    (
        "flapping while recovering: no recovery yet, no second outage",
        {range(5, 10): frozenset({GW}), range(11, 12): frozenset({GW}), range(13, 14): frozenset({GW})},
        [(7, "platform", "outage", ("gateways",)), (16, "platform", "recovered", ("gateways",))],
    ),
    (
        "partial recovery is no recovery",
        {range(5, 10): frozenset({GW, DET}), range(10, 25): frozenset({DET})},
        [
            (7, "platform", "outage", ("gateways", "detector")),
            (27, "platform", "recovered", ("gateways", "detector")),
        ],
    ),
    (
        "the SMS path is an outage of its own",
        {range(5, 8): frozenset({SMS}), range(8, 15): frozenset({SMS, GW})},
        [
            (7, "sms", "outage", ("sms",)),
            (10, "platform", "outage", ("gateways",)),
            (17, "platform", "recovered", ("gateways",)),
            (17, "sms", "recovered", ("sms",)),
        ],
    ),
]


@pytest.mark.parametrize(("name", "failing", "expected"), CASES, ids=[c[0] for c in CASES])
def test_outages_are_told_once_and_recover_once(
    name: str, failing: dict[range, frozenset[Part]], expected: list[tuple[int, str, str, tuple[str, ...]]]
) -> None:
    told = run(minutes(failing, 40))
    got = [(m, n.route.value, n.kind.value, tuple(p.value for p in n.parts)) for m, n in told]
    assert sorted(got) == sorted(expected)


def test_a_notice_key_names_its_outage_so_a_restart_cannot_tell_it_twice() -> None:
    told = run(minutes({range(5, 30): frozenset({GW})}, 40))
    outage, recovered = (n for _, n in told)
    assert outage.since == recovered.since == T0 + timedelta(minutes=5)
    assert outage.key != recovered.key
    assert outage.kind is NoticeKind.OUTAGE
    assert outage.amounts == (7,)


def test_an_outage_keeps_its_start_while_it_lasts() -> None:
    readings = [Observation(GW, True, 12)]
    outages, _ = assess({}, readings, T0, HOLD)
    outages, notices = assess(outages, readings, T0 + HOLD, HOLD)
    assert [n.since for n in notices] == [T0]
    assert outages[Route.PLATFORM].began_at == T0
