"""The wire contract between gateways and the platform (docs/protocol.md), stdlib only.

Every message that crosses the broker is one of the frozen dataclasses below, with an explicit
``encode`` and a ``decode_*`` function that either returns the message or raises
:class:`ContractError` carrying a machine-readable ``reason`` and a human-readable ``detail``.
Gateways run this module too, so it must not import anything outside the standard library.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

SCHEMA_VERSION: Final = 1
TOPIC_ROOT: Final = "mimamori"
TOPIC_VERSION: Final = "v1"

MAX_PAYLOAD_BYTES: Final = 1024
MAX_MESSAGE_BYTES: Final = 16_384
"""The broker refuses anything larger (mosquitto ``message_size_limit``): nothing of ours comes near
it, and a 10 MB message never reaches ingest."""
MAX_FUTURE_SKEW: Final = timedelta(minutes=5)
MAX_AGE: Final = timedelta(days=7)
MAX_POWER_W: Final = 10_000.0
MAX_SEQ: Final = 2**63 - 1
MAX_DETAIL_CHARS: Final = 300
ACTIVITY_POWER_W: Final = 20.0
"""A plug reading at or above this many watts means the appliance is on."""
MIN_TEMPERATURE_C: Final = -30.0
MAX_TEMPERATURE_C: Final = 60.0
"""Indoor air, with room to spare: a reading outside is a broken or misplaced probe."""

ID_RE: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
"""Household, gateway and device ids: lowercase, safe in MQTT topics, SQL and file names."""
MESSAGE_ID_RE: Final = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class Kind(StrEnum):
    """What an event reports. Motion, door, power, button and occupancy can mean a person moved
    (:func:`is_activity`); battery, check-in and the climate readings never do."""

    MOTION = "motion"  # value 1 = motion detected, 0 = motion cleared
    DOOR = "door"  # value 1 = opened, 0 = closed
    POWER = "power"  # value = watts drawn by the plugged appliance
    BUTTON = "button"  # value 1 = pressed (help button)
    BATTERY = "battery"  # value = percent 0..100
    CHECKIN = "checkin"  # a device's periodic "still alive" report, value 0
    OCCUPANCY = "occupancy"  # presence sensor or bed/chair pad: value 1 = occupied, 0 = clear
    TEMPERATURE = "temperature"  # value = air temperature, °C (-30..60, 0.1 steps)
    HUMIDITY = "humidity"  # value = relative humidity, % (0..100, whole percent)


_KINDS: Final = {kind.value: kind for kind in Kind}


class GatewayState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class Channel(StrEnum):
    """The last topic level: what a message on that topic is."""

    EVENTS = "events"
    STATUS = "status"
    HEARTBEAT = "heartbeat"
    ACK = "ack"  # ingest → gateway: these events are in the store; the outbox may let them go


class Reason(StrEnum):
    """Why a message was rejected. Stable strings: they are metric labels and dead-letter columns."""

    BAD_TOPIC = "bad_topic"
    OVERSIZE = "oversize"
    MALFORMED_JSON = "malformed_json"
    NOT_OBJECT = "not_object"
    UNSUPPORTED_SCHEMA = "unsupported_schema"
    MISSING_FIELD = "missing_field"
    UNKNOWN_FIELD = "unknown_field"
    WRONG_TYPE = "wrong_type"
    BAD_ID = "bad_id"
    BAD_KIND = "bad_kind"
    BAD_VALUE = "bad_value"
    BAD_TIMESTAMP = "bad_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    STALE_TIMESTAMP = "stale_timestamp"
    TOPIC_MISMATCH = "topic_mismatch"
    UNKNOWN_HOUSEHOLD = "unknown_household"  # well-formed, but not a registered household
    UNKNOWN_GATEWAY = "unknown_gateway"  # a registered household, but not one of its gateways
    STORE_REFUSED = "store_refused"  # the store refused the point for good (quarantined)


class ContractError(ValueError):
    """A message that breaks the contract; ``reason`` is stable, ``detail`` explains it."""

    def __init__(self, reason: Reason, detail: str) -> None:
        if len(detail) > MAX_DETAIL_CHARS:  # details go into logs and dead letters: always bounded
            detail = detail[: MAX_DETAIL_CHARS - 1] + "…"
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


# --------------------------------------------------------------------------- topics


@dataclass(frozen=True, slots=True)
class Topic:
    """``mimamori/v1/{household}/{gateway}/{channel}``."""

    household: str
    gateway: str
    channel: Channel

    def __str__(self) -> str:
        return f"{TOPIC_ROOT}/{TOPIC_VERSION}/{self.household}/{self.gateway}/{self.channel.value}"


def topic(household: str, gateway: str, channel: Channel) -> str:
    """Build a topic string, validating both ids."""
    _check_id("household", household)
    _check_id("gateway", gateway)
    return str(Topic(household, gateway, channel))


def subscription(channel: Channel, household: str = "+") -> str:
    """Topic filter for one channel of every gateway (of every household unless one is named)."""
    return f"{TOPIC_ROOT}/{TOPIC_VERSION}/{household}/+/{channel.value}"


def parse_topic(raw: str) -> Topic:
    """Parse a topic string; raises ContractError(BAD_TOPIC) for anything outside the scheme."""
    parts = raw.split("/")
    if len(parts) != 5 or parts[0] != TOPIC_ROOT or parts[1] != TOPIC_VERSION:
        raise ContractError(Reason.BAD_TOPIC, f"not a {TOPIC_ROOT}/{TOPIC_VERSION} topic: {raw[:120]!r}")
    _, _, household, gateway, channel = parts
    if not ID_RE.match(household) or not ID_RE.match(gateway):
        raise ContractError(Reason.BAD_TOPIC, f"bad household or gateway id in topic {raw[:120]!r}")
    try:
        return Topic(household, gateway, Channel(channel))
    except ValueError:
        raise ContractError(Reason.BAD_TOPIC, f"unknown channel {channel[:40]!r}") from None


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class Event:
    """One canonical sensor event, as a gateway publishes it."""

    message_id: str
    household: str
    gateway: str
    device: str
    kind: Kind
    value: float
    observed_at: datetime
    seq: int
    schema: int = SCHEMA_VERSION

    def encode(self) -> bytes:
        return _dump(
            {
                "schema": self.schema,
                "id": self.message_id,
                "household": self.household,
                "gateway": self.gateway,
                "device": self.device,
                "kind": self.kind.value,
                "value": _number_out(self.value),
                "observed_at": format_time(self.observed_at),
                "seq": self.seq,
            }
        )


@dataclass(frozen=True, slots=True)
class GatewayStatus:
    """Retained ``online`` on connect; the same message with ``offline`` is the Last Will."""

    household: str
    gateway: str
    state: GatewayState
    at: datetime
    schema: int = SCHEMA_VERSION

    def encode(self) -> bytes:
        return _dump(
            {
                "schema": self.schema,
                "household": self.household,
                "gateway": self.gateway,
                "state": self.state.value,
                "at": format_time(self.at),
            }
        )


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A gateway's periodic proof of life, so that a silent home is told apart from a gone one."""

    household: str
    gateway: str
    at: datetime
    seq: int
    outbox_depth: int
    schema: int = SCHEMA_VERSION

    def encode(self) -> bytes:
        return _dump(
            {
                "schema": self.schema,
                "household": self.household,
                "gateway": self.gateway,
                "at": format_time(self.at),
                "seq": self.seq,
                "outbox_depth": self.outbox_depth,
            }
        )


@dataclass(frozen=True, slots=True)
class Ack:
    """Ingest's end-to-end acknowledgement to one gateway: its events with these ``seq`` numbers are
    durably handled (stored, already stored, or dead-lettered), so its outbox may delete them.
    On the wire the numbers travel as ``[first, last]`` ranges (:func:`ack_payloads`)."""

    household: str
    gateway: str
    seqs: tuple[int, ...]
    schema: int = SCHEMA_VERSION


def seq_ranges(seqs: Iterable[int]) -> list[list[int]]:
    """Sorted, distinct numbers as ``[first, last]`` ranges: ``[1, 2, 3, 7]`` → ``[[1, 3], [7, 7]]``."""
    ranges: list[list[int]] = []
    for seq in sorted(set(seqs)):
        if ranges and ranges[-1][1] == seq - 1:
            ranges[-1][1] = seq
        else:
            ranges.append([seq, seq])
    return ranges


MAX_ACK_RANGES: Final = 256
"""Ranges per acknowledgement message: at most ~10 KB, well under MAX_MESSAGE_BYTES."""
MAX_ACK_SEQS: Final = 100_000


def ack_payloads(household: str, gateway: str, seqs: Iterable[int]) -> list[bytes]:
    """The acknowledgement of ``seqs`` as one or more messages, each within the broker's limit."""
    ranges = seq_ranges(seqs)
    return [
        _dump(
            {
                "schema": SCHEMA_VERSION,
                "household": household,
                "gateway": gateway,
                "seqs": ranges[start : start + MAX_ACK_RANGES],
            }
        )
        for start in range(0, len(ranges), MAX_ACK_RANGES)
    ]


_EVENT_FIELDS: Final = frozenset(
    {"schema", "id", "household", "gateway", "device", "kind", "value", "observed_at", "seq"}
)
_STATUS_FIELDS: Final = frozenset({"schema", "household", "gateway", "state", "at"})
_HEARTBEAT_FIELDS: Final = frozenset({"schema", "household", "gateway", "at", "seq", "outbox_depth"})
_ACK_FIELDS: Final = frozenset({"schema", "household", "gateway", "seqs"})


def decode_event(raw_topic: str, payload: bytes, now: datetime) -> Event:
    """Decode and validate an event published on ``raw_topic`` at ``now``."""
    where = _expect_topic(raw_topic, Channel.EVENTS)
    obj = _load(payload, _EVENT_FIELDS)
    household, gateway = _owner(obj, where)
    kind_raw = _str(obj, "kind")
    kind = _KINDS.get(kind_raw)
    if kind is None:
        raise ContractError(Reason.BAD_KIND, f"unknown kind {kind_raw[:40]!r}")
    value = normalize_value(kind, _number(obj, "value"))
    check_value(kind, value)
    seq = _int(obj, "seq")
    if not 0 <= seq <= MAX_SEQ:
        raise ContractError(Reason.BAD_VALUE, f"seq {seq} out of range")
    message_id = _str(obj, "id")
    if not MESSAGE_ID_RE.match(message_id):
        raise ContractError(Reason.BAD_ID, f"id {message_id[:80]!r} must match {MESSAGE_ID_RE.pattern}")
    device = _str(obj, "device")
    _check_id("device", device)
    return Event(
        message_id=message_id,
        household=household,
        gateway=gateway,
        device=device,
        kind=kind,
        value=value,
        observed_at=_time_in_window(obj, "observed_at", now),
        seq=seq,
    )


def decode_status(raw_topic: str, payload: bytes) -> GatewayStatus:
    """Decode a gateway status (also the Last Will); no time window, a will is published late."""
    where = _expect_topic(raw_topic, Channel.STATUS)
    obj = _load(payload, _STATUS_FIELDS)
    household, gateway = _owner(obj, where)
    state_raw = _str(obj, "state")
    try:
        state = GatewayState(state_raw)
    except ValueError:
        raise ContractError(Reason.BAD_VALUE, f"unknown gateway state {state_raw[:40]!r}") from None
    return GatewayStatus(household, gateway, state, _time(obj, "at"))


def decode_heartbeat(raw_topic: str, payload: bytes, now: datetime) -> Heartbeat:
    where = _expect_topic(raw_topic, Channel.HEARTBEAT)
    obj = _load(payload, _HEARTBEAT_FIELDS)
    household, gateway = _owner(obj, where)
    seq = _int(obj, "seq")
    depth = _int(obj, "outbox_depth")
    if seq < 0 or depth < 0:
        raise ContractError(Reason.BAD_VALUE, "seq and outbox_depth must not be negative")
    return Heartbeat(household, gateway, _time_in_window(obj, "at", now), seq, depth)


def decode_ack(raw_topic: str, payload: bytes) -> Ack:
    """Decode an acknowledgement (what a gateway receives on its ``ack`` topic)."""
    where = _expect_topic(raw_topic, Channel.ACK)
    obj = _load(payload, _ACK_FIELDS, MAX_MESSAGE_BYTES)
    household, gateway = _owner(obj, where)
    ranges = obj["seqs"]
    if not isinstance(ranges, list):
        raise ContractError(Reason.WRONG_TYPE, "seqs must be a list of [first, last] ranges")
    seqs: list[int] = []
    for pair in ranges:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in pair)
            or not 0 <= pair[0] <= pair[1] <= MAX_SEQ
        ):
            raise ContractError(Reason.BAD_VALUE, f"bad seq range {repr(pair)[:60]}")
        if len(seqs) + pair[1] - pair[0] >= MAX_ACK_SEQS:
            raise ContractError(Reason.BAD_VALUE, f"more than {MAX_ACK_SEQS} seqs in one ack")
        seqs.extend(range(pair[0], pair[1] + 1))
    return Ack(household, gateway, tuple(seqs))


def event_seq(payload: bytes) -> int | None:
    """Best effort: the ``seq`` of an event payload that failed validation (so that ingest can still
    acknowledge a dead-lettered event to its gateway), or None."""
    try:
        obj = json.loads(payload) if len(payload) <= MAX_PAYLOAD_BYTES else None
    except (UnicodeDecodeError, ValueError):
        return None
    seq = obj.get("seq") if isinstance(obj, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq <= MAX_SEQ else None


def normalize_value(kind: Kind, value: float) -> float:
    """A reading as the contract carries it: temperature to 0.1 °C and humidity to whole percent (what
    cheap sensors can tell, ±0.3 °C and ±3 %, so jitter in the last digit is not a new reading); the
    rest as given. Gateways apply it before deriving a message id; ingest again on decode."""
    if kind is Kind.TEMPERATURE:
        return round(value, 1)
    if kind is Kind.HUMIDITY:
        return float(round(value))
    return value


def is_activity(kind: Kind, value: float, previous_value: float | None) -> bool:
    """Whether an event means a person did something.

    Motion and door events count when they report a change a person causes (motion detected, door
    opened or closed); a help-button press always counts. A plug counts only when the appliance is
    switched on or off (its reading crosses ``ACTIVITY_POWER_W``), so a TV left on overnight, which
    keeps reporting the same wattage, is not mistaken for someone moving. Occupancy counts when it
    turns *occupied* (someone walked into a presence sensor's field, or lay down on a bed pad): a
    sign of life, like motion detected. Turning *clear* does not count: like motion cleared it is
    also what a sensor reports when its hold time runs out, and a resident who stays put while a
    presence sensor keeps saying occupied is exactly what the lying-still rule must see as quiet.
    Battery, check-in, temperature and humidity reports never count.
    """
    if kind is Kind.MOTION or kind is Kind.OCCUPANCY:
        return value >= 1
    if kind is Kind.DOOR or kind is Kind.BUTTON:
        return True
    if kind is Kind.POWER:
        was_on = previous_value is not None and previous_value >= ACTIVITY_POWER_W
        return (value >= ACTIVITY_POWER_W) != was_on
    return False


def message_id_for(household: str, device: str, kind: Kind, value: float, observed_at: datetime) -> str:
    """The id a gateway gives an event: derived from its content, so a device that repeats itself
    (or a gateway that re-reads the same reading after a crash) produces the same id and the
    platform stores it once."""
    key = f"{household}|{device}|{kind.value}|{_number_out(value)}|{format_time(observed_at)}"
    return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()


# --------------------------------------------------------------------------- time


def format_time(at: datetime) -> str:
    """Aware datetime → ``2026-11-26T22:15:39.123Z`` (UTC, milliseconds)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: the contract carries aware UTC times only")
    utc = at.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_time(raw: str) -> datetime:
    """ISO 8601 with ``Z`` or an offset → aware UTC datetime; raises ValueError otherwise."""
    parsed = datetime.fromisoformat(raw)
    if parsed.tzinfo is None:
        raise ValueError("timestamp has no offset")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError("timestamp out of range") from None


# --------------------------------------------------------------------------- helpers


def _dump(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _number_out(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 3)


def _expect_topic(raw_topic: str, channel: Channel) -> Topic:
    where = parse_topic(raw_topic)
    if where.channel is not channel:
        raise ContractError(Reason.BAD_TOPIC, f"expected a {channel.value} topic, got {where.channel.value}")
    return where


def load_object(payload: bytes, max_bytes: int = MAX_PAYLOAD_BYTES) -> dict[str, Any]:
    """A JSON object of at most ``max_bytes``, or ContractError (oversize, malformed, not an object).
    Also what the gateway uses for its devices' own, larger payloads."""
    if len(payload) > max_bytes:
        raise ContractError(Reason.OVERSIZE, f"{len(payload)} bytes > {max_bytes}")
    try:
        obj = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ContractError(Reason.MALFORMED_JSON, str(exc)[:120]) from None
    if not isinstance(obj, dict):
        raise ContractError(Reason.NOT_OBJECT, f"payload is a JSON {type(obj).__name__}, not an object")
    return obj


def _load(payload: bytes, allowed: frozenset[str], max_bytes: int = MAX_PAYLOAD_BYTES) -> dict[str, Any]:
    obj = load_object(payload, max_bytes)
    schema = obj.get("schema")
    if schema != SCHEMA_VERSION or isinstance(schema, bool):
        raise ContractError(
            Reason.UNSUPPORTED_SCHEMA, f"schema {repr(schema)[:40]}, expected {SCHEMA_VERSION}"
        )
    if obj.keys() == allowed:
        return obj
    missing = allowed - obj.keys()
    if missing:
        raise ContractError(Reason.MISSING_FIELD, "missing " + ", ".join(sorted(missing)))
    unknown = obj.keys() - allowed
    if unknown:
        names = ", ".join(sorted(repr(k[:40]) for k in unknown))
        raise ContractError(Reason.UNKNOWN_FIELD, f"{len(unknown)} unknown: {names[:200]}")
    return obj


def _owner(obj: dict[str, Any], where: Topic) -> tuple[str, str]:
    household = _str(obj, "household")
    gateway = _str(obj, "gateway")
    if household == where.household and gateway == where.gateway:
        return household, gateway  # the topic's ids, already checked
    _check_id("household", household)  # a malformed id is BAD_ID, a different one TOPIC_MISMATCH
    _check_id("gateway", gateway)
    raise ContractError(
        Reason.TOPIC_MISMATCH,
        f"payload says {household}/{gateway}, topic says {where.household}/{where.gateway}",
    )


def _check_id(field: str, value: str) -> None:
    if not ID_RE.match(value):
        raise ContractError(Reason.BAD_ID, f"{field} {value[:80]!r} must match {ID_RE.pattern}")


def _str(obj: dict[str, Any], field: str) -> str:
    value = obj[field]
    if not isinstance(value, str):
        raise ContractError(Reason.WRONG_TYPE, f"{field} must be a string, got {type(value).__name__}")
    return value


def _int(obj: dict[str, Any], field: str) -> int:
    value = obj[field]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ContractError(Reason.WRONG_TYPE, f"{field} must be an integer, got {type(value).__name__}")
    return value


def _number(obj: dict[str, Any], field: str) -> float:
    value = obj[field]
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ContractError(Reason.WRONG_TYPE, f"{field} must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        raise ContractError(Reason.BAD_VALUE, f"{field} is out of range") from None
    if not math.isfinite(number):
        raise ContractError(Reason.BAD_VALUE, f"{field} must be finite")
    return number


def check_value(kind: Kind, value: float) -> None:
    """The value rule of ``kind``; raises ContractError(BAD_VALUE). Gateways check readings with it too."""
    if kind in (Kind.MOTION, Kind.DOOR, Kind.OCCUPANCY):
        ok = value in (0.0, 1.0)
        rule = "0 or 1"
    elif kind is Kind.TEMPERATURE:
        ok = MIN_TEMPERATURE_C <= value <= MAX_TEMPERATURE_C
        rule = f"{MIN_TEMPERATURE_C:g}..{MAX_TEMPERATURE_C:g} °C"
    elif kind is Kind.HUMIDITY:
        ok = 0.0 <= value <= 100.0
        rule = "0..100 %"
    elif kind is Kind.BUTTON:
        ok = value == 1.0
        rule = "1"
    elif kind is Kind.POWER:
        ok = 0.0 <= value <= MAX_POWER_W
        rule = f"0..{MAX_POWER_W:g} W"
    elif kind is Kind.BATTERY:
        ok = 0.0 <= value <= 100.0
        rule = "0..100 %"
    else:
        ok = value == 0.0
        rule = "0"
    if not ok:
        raise ContractError(Reason.BAD_VALUE, f"{kind.value} value {value:g} must be {rule}")


def _time(obj: dict[str, Any], field: str) -> datetime:
    raw = _str(obj, field)
    if len(raw) > 40:
        raise ContractError(Reason.BAD_TIMESTAMP, f"{field} is too long")
    try:
        return parse_time(raw)
    except ValueError as exc:
        raise ContractError(Reason.BAD_TIMESTAMP, f"{field} {raw!r}: {exc}") from None


def _time_in_window(obj: dict[str, Any], field: str, now: datetime) -> datetime:
    at = _time(obj, field)
    if at > now + MAX_FUTURE_SKEW:
        raise ContractError(
            Reason.FUTURE_TIMESTAMP, f"{field} {format_time(at)} is beyond now + {MAX_FUTURE_SKEW}"
        )
    if at < now - MAX_AGE:
        raise ContractError(Reason.STALE_TIMESTAMP, f"{field} {format_time(at)} is older than {MAX_AGE}")
    return at
