"""What real devices publish on a home's local broker, for a simulated report.

- native: ``{root}/home/{device}/{kind}`` ``{"value": v, "ts": iso}``
- zigbee2mqtt: ``{root}/zigbee2mqtt/{friendly_name}`` with ``occupancy`` / ``contact`` / ``power`` /
  ``action`` / ``battery`` / ``presence`` / ``temperature`` / ``humidity``, and ``last_seen``
  (zigbee2mqtt's ``last_seen: ISO_8601`` option)
- Shelly Gen2: ``{root}/{shelly-id}/events/rpc`` ``NotifyStatus`` with ``switch:0.apower`` and ``ts``
  (``sys`` only: a check-in)
- Tasmota: ``{root}/tele/{topic}/SENSOR`` with ``ENERGY.Power`` and local ``Time``; ``tele/{topic}/STATE``
  as a check-in

Sensors (motion, doors, button, presence, climate) are Zigbee in every format but ``native``;
``format`` picks how plugs speak. Device addresses are derived from household and device, so a
gateway can be configured for them (:func:`device_map`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any, Literal
from zoneinfo import ZoneInfo

from firmware_sim.events import SimEvent
from firmware_sim.kits import KITS_BY_NAME, Kit
from gateway.native import Reading, encode_reading
from mimamori import contract
from mimamori.contract import Kind

Format = Literal["native", "zigbee2mqtt", "shelly", "tasmota", "mixed"]
PLUG_FORMATS = ("zigbee2mqtt", "shelly", "tasmota")
PLUGS = frozenset(d.id for kit in KITS_BY_NAME.values() for d in kit.devices if d.kind is Kind.POWER)
NATIVE_PREFIX = "home"
"""The gateway's default ``native_prefix``."""


def _hex(household: str, device: str, digits: int) -> str:
    return hashlib.blake2b(f"{household}/{device}".encode(), digest_size=8).hexdigest()[:digits]


def plug_format(fmt: Format, household: str) -> str:
    if fmt == "mixed":
        return PLUG_FORMATS[int(_hex(household, "plugs", 4), 16) % 3]
    return fmt


def address(household: str, device: str, fmt: Format) -> tuple[str, str]:
    """(source, address) under which this device appears on the local broker."""
    if fmt == "native":
        return "native", device
    source = plug_format(fmt, household) if device in PLUGS else "zigbee2mqtt"
    if source == "shelly":
        return source, f"shellyplusplugs-{_hex(household, device, 12)}"
    if source == "tasmota":
        return source, f"tasmota_{_hex(household, device, 6).upper()}"
    return source, device.replace("-", "_")


def device_map(household: str, kit: Kit, fmt: Format) -> dict[str, dict[str, str]]:
    """The gateway's ``[gateway.devices]`` table for a simulated home."""
    table: dict[str, dict[str, str]] = {}
    for d in kit.devices:
        source, addr = address(household, d.id, fmt)
        table[d.id] = {"source": source, "address": addr, "kind": d.kind.value}
    return table


def encode(event: SimEvent, root: str, fmt: Format, zone: ZoneInfo) -> Iterator[tuple[str, bytes]]:
    """The (topic, payload) messages a real device sends for ``event``."""
    prefix = f"{root}/" if root else ""
    if fmt == "native":
        suffix, payload = encode_reading(Reading(event.device, event.kind, event.value, event.observed_at))
        yield f"{prefix}{NATIVE_PREFIX}/{suffix}", payload
        return
    source, addr = address(event.household, event.device, fmt)
    ts = event.observed_at
    if source == "shelly":
        params: dict[str, Any] = {"ts": event.observed / 1000}
        if event.kind is Kind.POWER:
            params["switch:0"] = {"id": 0, "apower": event.value, "current": round(event.value / 100, 3)}
        else:
            params["sys"] = {"uptime": event.observed // 1000 % 10_000_000, "ram_free": 150_000}
        body = {"src": addr, "dst": f"{addr}/events", "method": "NotifyStatus", "params": params}
        yield f"{prefix}{addr}/events/rpc", _json(body)
        return
    if source == "tasmota":
        local = ts.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")
        if event.kind is Kind.POWER:
            energy = {
                "Power": event.value,
                "Voltage": 100,
                "Current": round(event.value / 100, 3),
                "Factor": 0.98,
            }
            yield f"{prefix}tele/{addr}/SENSOR", _json({"Time": local, "ENERGY": energy})
        else:
            yield f"{prefix}tele/{addr}/STATE", _json({"Time": local, "UptimeSec": 3600, "POWER": "ON"})
        return
    obj: dict[str, Any] = {"linkquality": 60 + int(_hex(event.household, event.device, 2), 16) % 150}
    if event.kind is Kind.MOTION:
        obj["occupancy"] = event.value >= 1
    elif event.kind is Kind.DOOR:
        obj["contact"] = event.value < 1  # zigbee2mqtt: contact true = closed
    elif event.kind is Kind.POWER:
        obj.update(power=event.value, state="ON")
    elif event.kind is Kind.BUTTON:
        obj["action"] = "single"
    elif event.kind is Kind.BATTERY:
        obj.update(battery=int(event.value), voltage=2500 + int(event.value) * 7)
    elif event.kind is Kind.OCCUPANCY:
        obj["presence"] = event.value >= 1  # an mmWave sensor or bed pad
    elif event.kind is Kind.TEMPERATURE:
        obj["temperature"] = event.value
    elif event.kind is Kind.HUMIDITY:
        obj["humidity"] = event.value
    obj["last_seen"] = contract.format_time(ts)
    yield f"{prefix}zigbee2mqtt/{addr}", _json(obj)


def _json(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()
