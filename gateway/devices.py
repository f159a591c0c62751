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


def zigbee2mqtt(payload: bytes, now: datetime, *, presence: bool = False) -> list[Field]:
    """A device state from ``zigbee2mqtt/<friendly_name>``.

    ``occupancy`` → motion (a PIR), or occupancy for a device configured as a presence sensor or bed
    pad (``presence``); ``presence`` (mmWave sensors) → occupancy; ``contact`` → door (``contact:
    false`` means open); ``power`` → power; ``action`` (non-empty) → button; ``battery`` → battery;
    ``temperature`` → temperature (°C); ``humidity`` → humidity (%). A message with none of these
    (only ``linkquality``, ``voltage``...) is a check-in. ``last_seen`` (ISO 8601 or epoch ms,
    zigbee2mqtt's ``last_seen`` option) is the observation time; without it, ``now``.
    """
    obj = load_object(payload, MAX_PAYLOAD_BYTES)
    at = _z2m_time(obj.get("last_seen"), now)
    fields: list[Field] = []
    if obj.get("presence") is not None:
        fields.append(Field(Kind.OCCUPANCY, 1.0 if _bool(obj, "presence") else 0.0, at))
    if "occupancy" in obj and not (presence and fields):
        kind = Kind.OCCUPANCY if presence else Kind.MOTION
        fields.append(Field(kind, 1.0 if _bool(obj, "occupancy") else 0.0, at))
    if "contact" in obj:
        fields.append(Field(Kind.DOOR, 0.0 if _bool(obj, "contact") else 1.0, at))
    if "power" in obj:
        fields.append(Field(Kind.POWER, _number(obj, "power"), at))
    action = obj.get("action")
    if action is not None and not isinstance(action, str):
        raise ContractError(Reason.WRONG_TYPE, "action must be a string")
    if action:
        fields.append(Field(Kind.BUTTON, 1.0, at))
    for key, kind in (
        ("battery", Kind.BATTERY),
        ("temperature", Kind.TEMPERATURE),
        ("humidity", Kind.HUMIDITY),
    ):
        if obj.get(key) is not None:
            fields.append(Field(kind, _number(obj, key), at))
    return fields or [Field(Kind.CHECKIN, 0.0, at)]


_Z2M_NUMBERS = (("battery", Kind.BATTERY), ("temperature", Kind.TEMPERATURE), ("humidity", Kind.HUMIDITY))


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

SHELLY_STATUS_COMPONENTS = ("switch:0", "temperature:0", "humidity:0", "input:0")
"""Components whose generic status updates (``<shelly-id>/status/<component>``) the gateway reads."""


def shelly_rpc(payload: bytes, now: datetime, *, presence: bool = False) -> list[Field]:
    """``<shelly-id>/events/rpc``: ``NotifyStatus`` / ``NotifyFullStatus`` with ``params.ts`` (epoch s).
    The components of :data:`SHELLY_STATUS_COMPONENTS` in ``params`` are read as
    :func:`shelly_status` reads them; a notification with none of them is a check-in."""
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
    fields = [
        field
        for component in SHELLY_STATUS_COMPONENTS
        if isinstance(params.get(component), dict)
        for field in _shelly_component(component, params[component], at, presence)
    ]
    return fields or [Field(Kind.CHECKIN, 0.0, at)]


def shelly_status(component: str, payload: bytes, now: datetime, *, presence: bool = False) -> list[Field]:
    """``<shelly-id>/status/<component>`` (generic status update, no time: ``now``).

    ``switch:0.apower`` → power (a plug); ``temperature:0.tC`` → temperature and ``humidity:0.rh`` →
    humidity (Shelly H&T, the Plus Add-on's probes); ``input:0.state`` → occupancy for a device
    configured as a presence sensor or bed pad (a pressure mat or a radar's output wired to an
    input), otherwise nothing. A status without its reading (a probe in error reports ``null``) is
    a check-in."""
    fields = _shelly_component(component, load_object(payload, MAX_PAYLOAD_BYTES), now, presence)
    return fields or [Field(Kind.CHECKIN, 0.0, now)]


def _shelly_component(component: str, status: dict[str, Any], at: datetime, presence: bool) -> list[Field]:
    if component == "switch:0" and "apower" in status:
        return [Field(Kind.POWER, _watts(_number(status, "apower")), at)]
    if component == "temperature:0" and status.get("tC") is not None:
        return [Field(Kind.TEMPERATURE, _number(status, "tC"), at)]
    if component == "humidity:0" and status.get("rh") is not None:
        return [Field(Kind.HUMIDITY, _number(status, "rh"), at)]
    if component == "input:0" and presence and status.get("state") is not None:
        return [Field(Kind.OCCUPANCY, 1.0 if _bool(status, "state") else 0.0, at)]
    return []


def _watts(value: float) -> float:
    """Metering plugs read a little below zero when idle; that is 0 W, not an error."""
    return 0.0 if -5.0 <= value < 0.0 else value


# --------------------------------------------------------------------------- Tasmota


def tasmota_sensor(payload: bytes, now: datetime, zone: ZoneInfo) -> list[Field]:
    """``tele/<topic>/SENSOR`` at ``Time``: ``ENERGY.Power`` (a number, or a list per channel: summed)
    → power; the first sensor object with ``Temperature`` (AM2301, SI7021, DS18B20, BME280...;
    converted from °F when ``TempUnit`` is ``F``) → temperature, the first with ``Humidity`` →
    humidity; an HLK radar → occupancy (``LD2410``: occupied while its moving or still target has
    energy; ``LD2410S``: ``People`` 2 or 3). Nothing of these: a check-in."""
    obj = load_object(payload, MAX_PAYLOAD_BYTES)
    at = _tasmota_time(obj, now, zone)
    fields: list[Field] = []
    energy = obj.get("ENERGY")
    if isinstance(energy, dict) and "Power" in energy:
        power = energy["Power"]
        if isinstance(power, list):
            power = sum(_number({"Power": p}, "Power") for p in power)
        fields.append(Field(Kind.POWER, _watts(_number({"Power": power}, "Power")), at))
    fahrenheit = obj.get("TempUnit") == "F"
    sensors = [v for k, v in obj.items() if isinstance(v, dict) and k != "ENERGY"]
    temperature = next((s for s in sensors if s.get("Temperature") is not None), None)
    if temperature is not None:
        celsius = _number(temperature, "Temperature")
        fields.append(Field(Kind.TEMPERATURE, (celsius - 32) * 5 / 9 if fahrenheit else celsius, at))
    humidity = next((s for s in sensors if s.get("Humidity") is not None), None)
    if humidity is not None:
        fields.append(Field(Kind.HUMIDITY, _number(humidity, "Humidity"), at))
    occupied = _tasmota_radar(obj)
    if occupied is not None:
        fields.append(Field(Kind.OCCUPANCY, 1.0 if occupied else 0.0, at))
    return fields or [Field(Kind.CHECKIN, 0.0, at)]


def _tasmota_radar(obj: dict[str, Any]) -> bool | None:
    radar = obj.get("LD2410")
    if isinstance(radar, dict) and "Energy" in radar:
        energies = radar["Energy"]
        if not isinstance(energies, list):
            raise ContractError(Reason.WRONG_TYPE, "LD2410.Energy must be a list")
        return any(_number({"Energy": e}, "Energy") > 0 for e in energies)
    radar = obj.get("LD2410S")
    if isinstance(radar, dict) and "People" in radar:
        return _number(radar, "People") >= 2
    return None


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
