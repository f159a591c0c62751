"""The wire contract: every kind of bad message is rejected with its reason (table-driven)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mimamori import contract
from mimamori.contract import Channel, ContractError, Event, Kind, Reason

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TOPIC = "mimamori/v1/hh-1/gw-1/events"


def good(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "schema": 1,
        "id": "0123456789abcdef01234567",
        "household": "hh-1",
        "gateway": "gw-1",
        "device": "hall-motion",
        "kind": "motion",
        "value": 1,
        "observed_at": "2026-11-26T08:59:00.000Z",
        "seq": 7,
    }
    obj.update(changes)
    return {k: v for k, v in obj.items() if v is not DROP}


DROP = object()


def test_good_event_round_trips() -> None:
    event = contract.decode_event(TOPIC, json.dumps(good()).encode(), NOW)
    assert event == Event(
        message_id="0123456789abcdef01234567",
        household="hh-1",
        gateway="gw-1",
        device="hall-motion",
        kind=Kind.MOTION,
        value=1.0,
        observed_at=datetime(2026, 11, 26, 8, 59, tzinfo=UTC),
        seq=7,
    )
    assert contract.decode_event(TOPIC, event.encode(), NOW) == event


def test_offsets_are_normalised_to_utc() -> None:
    event = contract.decode_event(
        TOPIC, json.dumps(good(observed_at="2026-11-26T17:59:00+09:00")).encode(), NOW
    )
    assert event.observed_at == datetime(2026, 11, 26, 8, 59, tzinfo=UTC)
    assert event.observed_at.tzinfo is UTC


REJECTIONS: list[tuple[str, str, bytes, Reason]] = [
    ("malformed json", TOPIC, b'{"schema": 1,', Reason.MALFORMED_JSON),
    ("not utf-8", TOPIC, b"\xff\xfe", Reason.MALFORMED_JSON),
    ("json array", TOPIC, b"[1, 2]", Reason.NOT_OBJECT),
    ("oversize", TOPIC, json.dumps(good(device="a" * 2000)).encode(), Reason.OVERSIZE),
    ("schema 2", TOPIC, json.dumps(good(schema=2)).encode(), Reason.UNSUPPORTED_SCHEMA),
    ("schema true", TOPIC, json.dumps(good(schema=True)).encode(), Reason.UNSUPPORTED_SCHEMA),
    ("missing value", TOPIC, json.dumps(good(value=DROP)).encode(), Reason.MISSING_FIELD),
    ("missing observed_at", TOPIC, json.dumps(good(observed_at=DROP)).encode(), Reason.MISSING_FIELD),
    ("unknown field", TOPIC, json.dumps(good(extra=1)).encode(), Reason.UNKNOWN_FIELD),
    ("value as string", TOPIC, json.dumps(good(value="1")).encode(), Reason.WRONG_TYPE),
    ("value as bool", TOPIC, json.dumps(good(value=True)).encode(), Reason.WRONG_TYPE),
    ("seq as float", TOPIC, json.dumps(good(seq=1.5)).encode(), Reason.WRONG_TYPE),
    ("device as number", TOPIC, json.dumps(good(device=5)).encode(), Reason.WRONG_TYPE),
    ("negative seq", TOPIC, json.dumps(good(seq=-1)).encode(), Reason.BAD_VALUE),
    ("motion 2", TOPIC, json.dumps(good(value=2)).encode(), Reason.BAD_VALUE),
    ("negative watts", TOPIC, json.dumps(good(kind="power", value=-3)).encode(), Reason.BAD_VALUE),
    ("battery 120", TOPIC, json.dumps(good(kind="battery", value=120)).encode(), Reason.BAD_VALUE),
    ("button 0", TOPIC, json.dumps(good(kind="button", value=0)).encode(), Reason.BAD_VALUE),
    ("occupancy 0.5", TOPIC, json.dumps(good(kind="occupancy", value=0.5)).encode(), Reason.BAD_VALUE),
    ("temperature 85", TOPIC, json.dumps(good(kind="temperature", value=85)).encode(), Reason.BAD_VALUE),
    ("temperature -40", TOPIC, json.dumps(good(kind="temperature", value=-40)).encode(), Reason.BAD_VALUE),
    ("humidity 101", TOPIC, json.dumps(good(kind="humidity", value=101)).encode(), Reason.BAD_VALUE),
    ("humidity -3", TOPIC, json.dumps(good(kind="humidity", value=-3)).encode(), Reason.BAD_VALUE),
    (
        "NaN",
        TOPIC,
        b'{"schema":1,"id":"0123456789abcdef","household":"hh-1","gateway":"gw-1","device":"d",'
        b'"kind":"motion","value":NaN,"observed_at":"2026-11-26T08:59:00Z","seq":1}',
        Reason.BAD_VALUE,
    ),
    ("unknown kind", TOPIC, json.dumps(good(kind="camera")).encode(), Reason.BAD_KIND),
    ("uppercase device", TOPIC, json.dumps(good(device="Hall")).encode(), Reason.BAD_ID),
    ("device with slash", TOPIC, json.dumps(good(device="a/b")).encode(), Reason.BAD_ID),
    ("short message id", TOPIC, json.dumps(good(id="abc")).encode(), Reason.BAD_ID),
    ("message id with space", TOPIC, json.dumps(good(id="abc def ghi")).encode(), Reason.BAD_ID),
    ("no offset", TOPIC, json.dumps(good(observed_at="2026-11-26T08:59:00")).encode(), Reason.BAD_TIMESTAMP),
    ("garbage time", TOPIC, json.dumps(good(observed_at="yesterday")).encode(), Reason.BAD_TIMESTAMP),
    (
        "future beyond window",
        TOPIC,
        json.dumps(good(observed_at="2026-11-26T09:05:01Z")).encode(),
        Reason.FUTURE_TIMESTAMP,
    ),
    (
        "older than a week",
        TOPIC,
        json.dumps(good(observed_at="2026-11-19T08:59:59Z")).encode(),
        Reason.STALE_TIMESTAMP,
    ),
    ("household spoofed", TOPIC, json.dumps(good(household="hh-2")).encode(), Reason.TOPIC_MISMATCH),
    ("gateway spoofed", TOPIC, json.dumps(good(gateway="gw-9")).encode(), Reason.TOPIC_MISMATCH),
    ("wrong root", "other/v1/hh-1/gw-1/events", json.dumps(good()).encode(), Reason.BAD_TOPIC),
    ("wrong version", "mimamori/v2/hh-1/gw-1/events", json.dumps(good()).encode(), Reason.BAD_TOPIC),
    ("too deep", "mimamori/v1/hh-1/gw-1/events/x", json.dumps(good()).encode(), Reason.BAD_TOPIC),
    ("status channel", "mimamori/v1/hh-1/gw-1/status", json.dumps(good()).encode(), Reason.BAD_TOPIC),
    ("bad id in topic", "mimamori/v1/HH/gw-1/events", json.dumps(good()).encode(), Reason.BAD_TOPIC),
]


@pytest.mark.parametrize(
    ("topic", "payload", "reason"), [r[1:] for r in REJECTIONS], ids=[r[0] for r in REJECTIONS]
)
def test_event_rejections(topic: str, payload: bytes, reason: Reason) -> None:
    with pytest.raises(ContractError) as caught:
        contract.decode_event(topic, payload, NOW)
    assert caught.value.reason is reason
    assert caught.value.detail


def test_window_edges_are_inclusive() -> None:
    at_edge = good(observed_at=contract.format_time(NOW + contract.MAX_FUTURE_SKEW))
    assert contract.decode_event(TOPIC, json.dumps(at_edge).encode(), NOW).observed_at == NOW + timedelta(
        minutes=5
    )
    oldest = good(observed_at=contract.format_time(NOW - contract.MAX_AGE))
    assert contract.decode_event(TOPIC, json.dumps(oldest).encode(), NOW).observed_at == NOW - timedelta(
        days=7
    )


def test_status_and_heartbeat_round_trip() -> None:
    status = contract.GatewayStatus("hh-1", "gw-1", contract.GatewayState.OFFLINE, NOW)
    assert contract.decode_status(contract.topic("hh-1", "gw-1", Channel.STATUS), status.encode()) == status
    beat = contract.Heartbeat("hh-1", "gw-1", NOW, 3, 12)
    assert (
        contract.decode_heartbeat(contract.topic("hh-1", "gw-1", Channel.HEARTBEAT), beat.encode(), NOW)
        == beat
    )


def test_status_from_another_household_is_refused() -> None:
    spoof = contract.GatewayStatus("hh-2", "gw-1", contract.GatewayState.ONLINE, NOW)
    with pytest.raises(ContractError) as caught:
        contract.decode_status("mimamori/v1/hh-1/gw-1/status", spoof.encode())
    assert caught.value.reason is Reason.TOPIC_MISMATCH


@pytest.mark.parametrize(
    ("kind", "value", "previous", "expected"),
    [
        (Kind.MOTION, 1, None, True),
        (Kind.MOTION, 0, 1, False),
        (Kind.DOOR, 0, 1, True),
        (Kind.BUTTON, 1, None, True),
        (Kind.POWER, 1200, 0, True),  # kettle switched on
        (Kind.POWER, 0, 1200, True),  # switched off
        (Kind.POWER, 80, 80, False),  # TV left on, still reporting
        (Kind.POWER, 1, None, False),  # standby
        (Kind.BATTERY, 50, None, False),
        (Kind.CHECKIN, 0, None, False),
        (Kind.OCCUPANCY, 1, 0, True),  # walked into the presence sensor's field, lay down on the bed pad
        (Kind.OCCUPANCY, 1, None, True),
        (Kind.OCCUPANCY, 0, 1, False),  # clear: also what a hold time running out says
        (Kind.TEMPERATURE, 31.5, 24.0, False),  # a room warming up is not a sign of life
        (Kind.HUMIDITY, 80, 40, False),
    ],
)
def test_is_activity(kind: Kind, value: float, previous: float | None, expected: bool) -> None:
    assert contract.is_activity(kind, value, previous) is expected


CLIMATE = [
    ("temperature", 21.34, 21.3),
    ("temperature", 21.36, 21.4),
    ("temperature", -12.25, -12.2),
    ("temperature", 60.04, 60.0),  # rounded first, then checked: inside the range
    ("humidity", 45.4, 45.0),
    ("humidity", 99.6, 100.0),
    ("humidity", 0.3, 0.0),
]


@pytest.mark.parametrize(("kind", "sent", "stored"), CLIMATE, ids=[f"{k}-{v}" for k, v, _ in CLIMATE])
def test_climate_readings_are_rounded_on_decode(kind: str, sent: float, stored: float) -> None:
    event = contract.decode_event(TOPIC, json.dumps(good(kind=kind, value=sent)).encode(), NOW)
    assert event.kind is Kind(kind)
    assert event.value == stored
    assert contract.decode_event(TOPIC, event.encode(), NOW).value == stored


def test_occupancy_is_zero_or_one() -> None:
    for value in (0, 1):
        assert (
            contract.decode_event(TOPIC, json.dumps(good(kind="occupancy", value=value)).encode(), NOW).value
            == value
        )


def test_message_id_is_content_derived_and_valid() -> None:
    a = contract.message_id_for("hh-1", "d", Kind.MOTION, 1, NOW)
    assert a == contract.message_id_for("hh-1", "d", Kind.MOTION, 1.0, NOW)
    assert a != contract.message_id_for("hh-1", "d", Kind.MOTION, 1, NOW + timedelta(milliseconds=1))
    assert contract.MESSAGE_ID_RE.match(a)


def test_naive_times_are_refused_when_encoding() -> None:
    with pytest.raises(ValueError, match="naive"):
        contract.format_time(datetime(2026, 1, 1))


def test_rejection_details_are_bounded_however_long_the_cause() -> None:
    error = ContractError(Reason.UNKNOWN_FIELD, "\\U0001f600" * 500)
    assert len(error.detail) == contract.MAX_DETAIL_CHARS
    assert len(str(error)) < 600
