"""Raw messages from the broker → one :class:`IngestBatch`: validated messages and counted rejections.

Pure: no I/O, ``now`` passed in. Every message ends up either decoded or as a :class:`Rejection`
carrying the contract's stable reason, so nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from mimamori import contract
from store.base import DEAD_LETTER_PAYLOAD_BYTES, IngestBatch, Rejection

RawMessage = tuple[str, bytes]
"""A received message as ingest needs it: topic and payload."""


def decode_batch(messages: Sequence[RawMessage], now: datetime) -> IngestBatch:
    """Decode every message by the channel its topic names; status messages keep arrival order."""
    events: list[contract.Event] = []
    statuses: list[contract.GatewayStatus] = []
    heartbeats: list[contract.Heartbeat] = []
    rejections: list[Rejection] = []
    decode_event = contract.decode_event
    for topic, payload in messages:
        channel = topic[topic.rfind("/") + 1 :]
        try:
            if channel == "events":
                events.append(decode_event(topic, payload, now))
            elif channel == "heartbeat":
                heartbeats.append(contract.decode_heartbeat(topic, payload, now))
            elif channel == "status":
                statuses.append(contract.decode_status(topic, payload))
            else:
                contract.parse_topic(topic)  # raises BAD_TOPIC
                raise contract.ContractError(contract.Reason.BAD_TOPIC, f"unexpected topic {topic[:120]!r}")
        except contract.ContractError as exc:
            rejections.append(
                Rejection(
                    received_at=now,
                    topic=topic[:256],
                    reason=exc.reason.value,
                    detail=exc.detail[:300],
                    payload=payload[:DEAD_LETTER_PAYLOAD_BYTES],
                )
            )
    return IngestBatch(
        received_at=now, events=events, statuses=statuses, heartbeats=heartbeats, rejections=rejections
    )
