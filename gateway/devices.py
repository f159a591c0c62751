"""Payload formats of devices people actually buy, decoded into (kind, value, time) readings.

Each decoder takes what one message says and returns the readings in it, or raises
``ContractError`` with a stable reason. Which *device* a message belongs to is the router's business
(gateway/router.py); these functions only read payloads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mimamori.contract import ContractError, Kind, Reason, load_object

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_PAYLOAD_BYTES = 16_384
"""Local payloads are bigger than canonical ones (zigbee2mqtt and Shelly send whole states)."""


@dataclass(frozen=True, slots=True)
class Field:
    """One reading of a message, before it is tied to a device."""

    kind: Kind
    value: float
    at: datetime


def _number(obj: dict[str, Any], key: str) -> float:
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ContractError(Reason.WRONG_TYPE, f"{key} must be a finite number, got {value!r:.40}")
    return float(value)


def _bool(obj: dict[str, Any], key: str) -> bool:
    value = obj[key]
    if not isinstance(value, bool):
        raise ContractError(Reason.WRONG_TYPE, f"{key} must be true or false, got {value!r:.40}")
    return value


# --------------------------------------------------------------------------- zigbee2mqtt


def zigbee2mqtt(payload: bytes, now: datetime) -> list[Field]:
    """A device state from ``zigbee2mqtt/<friendly_name>``.

    ``occupancy`` → motion, ``contact`` → door (``contact: false`` means open), ``power`` → power,
    ``action`` (non-empty) → button, ``battery`` → battery. A message with none of these (only
    ``linkquality``, ``voltage``...) is a check-in. ``last_seen`` (ISO 8601 or epoch ms, zigbee2mqtt's
    ``last_seen`` option) is the observation time; without it, ``now``.
    """
    obj = load_object(payload, MAX_PAYLOAD_BYTES)
    at = _z2m_time(obj.get("last_seen"), now)
    fields: list[Field] = []
    if "occupancy" in obj:
        fields.append(Field(Kind.MOTION, 1.0 if _bool(obj, "occupancy") else 0.0, at))
    if "contact" in obj:
        fields.append(Field(Kind.DOOR, 0.0 if _bool(obj, "contact") else 1.0, at))
    if "power" in obj:
        fields.append(Field(Kind.POWER, _number(obj, "power"), at))
    action = obj.get("action")
    if action is not None and not isinstance(action, str):
        raise ContractError(Reason.WRONG_TYPE, "action must be a string")
    if action:
        fields.append(Field(Kind.BUTTON, 1.0, at))
    if "battery" in obj and obj["battery"] is not None:
        fields.append(Field(Kind.BATTERY, _number(obj, "battery"), at))
    return fields or [Field(Kind.CHECKIN, 0.0, at)]


def _epoch_ms(ms: float) -> datetime:
    """Epoch milliseconds → aware UTC, to the millisecond (what the contract carries)."""
    return EPOCH + timedelta(milliseconds=round(ms))


def _z2m_time(raw: object, now: datetime) -> datetime:
    if raw is None:
        return now
    try:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return _epoch_ms(raw)
        if isinstance(raw, str):
            at = datetime.fromisoformat(raw)
            if at.tzinfo is not None:
                return at.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise ContractError(
        Reason.BAD_TIMESTAMP, f"last_seen {raw!r:.40} is not ISO 8601 with offset or epoch ms"
    )


# --------------------------------------------------------------------------- Shelly Gen2


def shelly_rpc(payload: bytes, now: datetime) -> list[Field]:
    """``<shelly-id>/events/rpc``: ``NotifyStatus`` / ``NotifyFullStatus`` with ``params.ts`` (epoch s)
    and ``params["switch:0"].apower`` → power; any other notification is a check-in."""
    obj = load_object(payload, MAX_PAYLOAD_BYTES)
    params = obj.get("params")
    if not isinstance(params, dict):
        raise ContractError(Reason.MISSING_FIELD, "params missing or not an object")
    at = now
    if "ts" in params:
        try:
            at = _epoch_ms(_number(params, "ts") * 1000)
        except (ValueError, OverflowError) as exc:
            raise ContractError(Reason.BAD_TIMESTAMP, f"ts: {exc}") from None
    switch = params.get("switch:0")
    if isinstance(switch, dict) and "apower" in switch:
        return [Field(Kind.POWER, _watts(_number(switch, "apower")), at)]
    return [Field(Kind.CHECKIN, 0.0, at)]


def shelly_status(payload: bytes, now: datetime) -> list[Field]:
    """``<shelly-id>/status/switch:0`` (generic status update): ``apower`` → power, at ``now``."""
    obj = load_object(payload, MAX_PAYLOAD_BYTES)
    if "apower" in obj:
        return [Field(Kind.POWER, _watts(_number(obj, "apower")), now)]
    return [Field(Kind.CHECKIN, 0.0, now)]


def _watts(value: float) -> float:
    """Metering plugs read a little below zero when idle; that is 0 W, not an error."""
    return 0.0 if -5.0 <= value < 0.0 else value


# --------------------------------------------------------------------------- Tasmota


def tasmota_sensor(payload: bytes, now: datetime, zone: ZoneInfo) -> list[Field]:
    """``tele/<topic>/SENSOR``: ``ENERGY.Power`` (a number, or a list per channel: summed) at ``Time``."""
    obj = load_object(payload, MAX_PAYLOAD_BYTES)
    at = _tasmota_time(obj, now, zone)
    energy = obj.get("ENERGY")
    if not isinstance(energy, dict) or "Power" not in energy:
        return [Field(Kind.CHECKIN, 0.0, at)]
    power = energy["Power"]
    if isinstance(power, list):
        power = sum(_number({"Power": p}, "Power") for p in power)
    return [Field(Kind.POWER, _watts(_number({"Power": power}, "Power")), at)]


def tasmota_state(payload: bytes, now: datetime, zone: ZoneInfo) -> list[Field]:
    """``tele/<topic>/STATE`` (every TelePeriod): the plug is alive."""
    return [Field(Kind.CHECKIN, 0.0, _tasmota_time(load_object(payload, MAX_PAYLOAD_BYTES), now, zone))]


def tasmota_power(payload: bytes, now: datetime) -> list[Field]:
    """``stat/<topic>/POWER`` ``ON``/``OFF``: the relay, not the appliance — a check-in, not activity."""
    if payload.strip().upper() not in (b"ON", b"OFF"):
        raise ContractError(Reason.BAD_VALUE, f"POWER must be ON or OFF, got {payload[:20]!r}")
    return [Field(Kind.CHECKIN, 0.0, now)]


def _tasmota_time(obj: dict[str, Any], now: datetime, zone: ZoneInfo) -> datetime:
    raw = obj.get("Time")
    if raw is None:
        return now
    if not isinstance(raw, str):
        raise ContractError(Reason.WRONG_TYPE, "Time must be a string")
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise ContractError(Reason.BAD_TIMESTAMP, f"Time {raw[:40]!r}") from None
    # Tasmota writes its local time without an offset (its Timezone setting is the household's).
    return (at if at.tzinfo is not None else at.replace(tzinfo=zone)).astimezone(UTC)
