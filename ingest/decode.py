"""Raw messages from the broker → one :class:`IngestBatch`: validated messages and counted rejections.

Pure: no I/O, ``now`` passed in. Every message ends up either decoded or as a :class:`Rejection`
carrying the contract's stable reason, so nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ingest.admission import Admitted, refusal
from mimamori import contract
from store.base import DEAD_LETTER_PAYLOAD_BYTES, IngestBatch, Rejection

RawMessage = tuple[str, bytes]
"""A received message as ingest needs it: topic and payload."""


def decode_batch(
    messages: Sequence[RawMessage], now: datetime, admitted: Admitted | None = None
) -> IngestBatch:
    """Decode every message by the channel its topic names; status messages keep arrival order.
    With ``admitted`` (the registry at the edge), a message of a household or gateway not in it is
    rejected as ``unknown_household`` / ``unknown_gateway``."""
    events: list[contract.Event] = []
    statuses: list[contract.GatewayStatus] = []
    heartbeats: list[contract.Heartbeat] = []
    rejections: list[Rejection] = []
    decode_event = contract.decode_event
    for topic, payload in messages:
        channel = topic[topic.rfind("/") + 1 :]
        try:
            if channel == "events":
                event = decode_event(topic, payload, now)
                _admit(admitted, event.household, event.gateway)
                events.append(event)
            elif channel == "heartbeat":
                beat = contract.decode_heartbeat(topic, payload, now)
                _admit(admitted, beat.household, beat.gateway)
                heartbeats.append(beat)
            elif channel == "status":
                status = contract.decode_status(topic, payload)
                _admit(admitted, status.household, status.gateway)
                statuses.append(status)
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


def _admit(admitted: Admitted | None, household: str, gateway: str) -> None:
    if admitted is None:
        return
    reason = refusal(admitted, household, gateway)
    if reason is not None:
        raise contract.ContractError(reason, f"{household}/{gateway} is not registered")


Acks = dict[tuple[str, str], list[int]]
"""(household, gateway) → the gateway sequence numbers of its events to acknowledge."""


def acknowledgements(batch: IngestBatch) -> Acks:
    """What to acknowledge to each gateway once ``batch`` is durable: every event stored or already
    stored, and every event dead-lettered whose topic and ``seq`` can still be read (re-sending a
    refused event would only be refused again)."""
    acks: Acks = {}
    for event in (*batch.events, *batch.thinned):
        acks.setdefault((event.household, event.gateway), []).append(event.seq)
    for rejection in batch.rejections:
        if not rejection.topic.endswith("/events"):
            continue
        seq = contract.event_seq(rejection.payload)
        try:
            where = contract.parse_topic(rejection.topic)
        except contract.ContractError:
            continue
        if seq is not None:
            acks.setdefault((where.household, where.gateway), []).append(seq)
    return acks
