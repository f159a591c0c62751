"""decode_batch: every message is either decoded or rejected with the contract's reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ingest.decode import RawMessage, decode_batch
from mimamori import contract
from store.base import DEAD_LETTER_PAYLOAD_BYTES

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
EVENTS = "mimamori/v1/kita-0001/gw-1/events"


def msg(topic: str, payload: bytes) -> RawMessage:
    return (topic, payload)


def good_event(**changes: object) -> bytes:
    event = contract.Event(
        "abcdefgh0001", "kita-0001", "gw-1", "hall-motion", contract.Kind.MOTION, 1, NOW, 1
    )
    obj = json.loads(event.encode())
    obj.update(changes)
    return json.dumps(obj).encode()


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (EVENTS, b"{nope", "malformed_json"),
        (EVENTS, b"x" * 5000, "oversize"),
        (EVENTS, good_event(household="kita-0002"), "topic_mismatch"),
        ("mimamori/v1/kita-0002/gw-1/events", good_event(), "topic_mismatch"),
        (EVENTS, good_event(observed_at="2026-11-26T10:00:00.000Z"), "future_timestamp"),
        (EVENTS, good_event(observed_at="2026-11-01T10:00:00.000Z"), "stale_timestamp"),
        (EVENTS, good_event(value=7), "bad_value"),
        ("mimamori/v1/kita-0001/gw-1/other", good_event(), "bad_topic"),
        ("somewhere/else", good_event(), "bad_topic"),
        ("mimamori/v1/kita-0001/gw-1/status", b'{"schema":2}', "unsupported_schema"),
        ("mimamori/v1/kita-0001/gw-1/heartbeat", b"[]", "not_object"),
    ],
)
def test_bad_messages_become_rejections_with_their_reason(topic: str, payload: bytes, reason: str) -> None:
    batch = decode_batch([msg(topic, payload), msg(EVENTS, good_event())], NOW)
    assert [r.reason for r in batch.rejections] == [reason]
    assert batch.rejections[0].payload == payload[:DEAD_LETTER_PAYLOAD_BYTES]
    assert batch.rejections[0].topic == topic
    assert len(batch.events) == 1  # the good message next to it still flows


def test_channels_are_decoded_into_their_own_lists_in_arrival_order() -> None:
    online = contract.GatewayStatus("kita-0001", "gw-1", contract.GatewayState.ONLINE, NOW)
    offline = contract.GatewayStatus(
        "kita-0001", "gw-1", contract.GatewayState.OFFLINE, NOW - timedelta(seconds=1)
    )
    beat = contract.Heartbeat("kita-0001", "gw-1", NOW, 3, 0)
    status_topic = contract.topic("kita-0001", "gw-1", contract.Channel.STATUS)
    batch = decode_batch(
        [
            msg(status_topic, online.encode()),
            msg(EVENTS, good_event()),
            msg(contract.topic("kita-0001", "gw-1", contract.Channel.HEARTBEAT), beat.encode()),
            msg(status_topic, offline.encode()),
        ],
        NOW,
    )
    assert batch.statuses == [online, offline]
    assert batch.heartbeats == [beat]
    assert [e.message_id for e in batch.events] == ["abcdefgh0001"]
    assert batch.rejections == []
    assert batch.received_at == NOW
