"""Local MQTT topics → device readings: which format a topic speaks, and which configured device it is.

Unknown devices and unparseable payloads never raise out of :meth:`Router.handle`: they are counted
by reason, and logged once per device or per (format, reason).
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Collection, Mapping
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from gateway import devices
from gateway.native import Reading, decode_reading
from mimamori import contract
from mimamori.contract import ContractError, Kind

log = logging.getLogger(__name__)

UNKNOWN_DEVICE = "unknown_device"
UNKNOWN_TOPIC = "unknown_topic"


class Source(StrEnum):
    NATIVE = "native"
    ZIGBEE2MQTT = "zigbee2mqtt"
    SHELLY = "shelly"
    TASMOTA = "tasmota"


_EDGE_KINDS = frozenset({Kind.MOTION, Kind.DOOR, Kind.OCCUPANCY})


class Router:
    """Decodes every local message the gateway subscribes to. The constructor does no I/O."""

    def __init__(
        self,
        *,
        devices_by_id: Mapping[str, tuple[Source, str]],
        zone: ZoneInfo,
        root: str = "",
        native_prefix: str = "home",
        zigbee2mqtt_base: str = "zigbee2mqtt",
        accept_unlisted_native: bool = True,
        presence_devices: Collection[str] = (),
    ) -> None:
        self._root = f"{root.strip('/')}/" if root.strip("/") else ""
        self._native = native_prefix.strip("/")
        self._z2m = zigbee2mqtt_base.strip("/")
        self._zone = zone
        self._accept_native = accept_unlisted_native
        self._by_address = {(source, address): device for device, (source, address) in devices_by_id.items()}
        self._presence = frozenset(devices_by_id[d] for d in presence_devices)
        """(source, address) of presence sensors and bed/chair pads: their ``occupancy`` (zigbee2mqtt) or
        input state (Shelly) is occupancy, not motion."""
        self._last_state: dict[tuple[str, str], float] = {}
        self._changed: dict[tuple[str, str], float] = {}
        self._logged: set[tuple[str, str]] = set()
        self.rejected: collections.Counter[str] = collections.Counter()

    def restore_state(self, state: Mapping[tuple[str, str], float]) -> None:
        """The sensors' last committed states (from the outbox), so a restart is not news either."""
        self._last_state.update(state)

    def take_changes(self) -> dict[tuple[str, str], float]:
        """States changed since the last call, to be committed with the readings that changed them."""
        changes, self._changed = self._changed, {}
        return changes

    def subscriptions(self) -> list[str]:
        r = self._root
        topics = [f"{r}{self._native}/+/+"]
        sources = {source for source, _ in self._by_address}
        if Source.ZIGBEE2MQTT in sources:
            topics.append(f"{r}{self._z2m}/+")
        if Source.SHELLY in sources:
            topics += [f"{r}+/events/rpc"] + [f"{r}+/status/{c}" for c in devices.SHELLY_STATUS_COMPONENTS]
        if Source.TASMOTA in sources:
            topics += [f"{r}tele/+/SENSOR", f"{r}tele/+/STATE", f"{r}stat/+/POWER"]
        return topics

    def handle(self, topic: str, payload: bytes, now: datetime) -> list[Reading]:
        """The readings in one local message; [] (counted, logged once) when it is not usable."""
        if not topic.startswith(self._root):
            return self._reject(UNKNOWN_TOPIC, "topic", f"topic={topic[:120]}")
        relative = topic[len(self._root) :]
        parts = relative.split("/")
        try:
            if relative.startswith(self._native + "/"):
                return self._native_reading(relative[len(self._native) + 1 :], payload, now)
            if len(parts) == 2 and parts[0] == self._z2m:
                presence = (Source.ZIGBEE2MQTT, parts[1]) in self._presence
                fields = devices.zigbee2mqtt(payload, now, presence=presence)
                return self._edges(self._fields(Source.ZIGBEE2MQTT, parts[1], fields))
            if len(parts) == 3 and parts[1:] == ["events", "rpc"]:
                presence = (Source.SHELLY, parts[0]) in self._presence
                fields = devices.shelly_rpc(payload, now, presence=presence)
                return self._edges(self._fields(Source.SHELLY, parts[0], fields))
            if len(parts) == 3 and parts[1] == "status" and parts[2] in devices.SHELLY_STATUS_COMPONENTS:
                presence = (Source.SHELLY, parts[0]) in self._presence
                fields = devices.shelly_status(parts[2], payload, now, presence=presence)
                return self._edges(self._fields(Source.SHELLY, parts[0], fields))
            if len(parts) == 3 and parts[0] == "tele" and parts[2] == "SENSOR":
                fields = devices.tasmota_sensor(payload, now, self._zone)
                return self._edges(self._fields(Source.TASMOTA, parts[1], fields))
            if len(parts) == 3 and parts[0] == "tele" and parts[2] == "STATE":
                fields = devices.tasmota_state(payload, now, self._zone)
                return self._fields(Source.TASMOTA, parts[1], fields)
            if len(parts) == 3 and parts[0] == "stat" and parts[2] == "POWER":
                return self._fields(Source.TASMOTA, parts[1], devices.tasmota_power(payload, now))
        except ContractError as exc:
            return self._reject(exc.reason.value, f"{parts[0]}:{exc.reason.value}", f"topic={topic[:120]}")
        except _Unknown as unknown:
            where = f"source={unknown.source} address={unknown.address[:80]}"
            return self._reject(UNKNOWN_DEVICE, f"{unknown.source}:{unknown.address}", where)
        return self._reject(UNKNOWN_TOPIC, "topic", f"topic={topic[:120]}")

    def _native_reading(self, suffix: str, payload: bytes, now: datetime) -> list[Reading]:
        reading = decode_reading(suffix, payload, now)
        device = self._by_address.get((Source.NATIVE, reading.device))
        if device is None and not self._accept_native:
            raise _Unknown(Source.NATIVE, reading.device)
        value = contract.normalize_value(reading.kind, reading.value)
        contract.check_value(reading.kind, value)
        return [Reading(device or reading.device, reading.kind, value, reading.observed_at)]

    def _fields(self, source: Source, address: str, fields: list[devices.Field]) -> list[Reading]:
        device = self._by_address.get((source, address))
        if device is None:
            raise _Unknown(source, address)
        readings = [Reading(device, f.kind, contract.normalize_value(f.kind, f.value), f.at) for f in fields]
        for reading in readings:
            contract.check_value(reading.kind, reading.value)
        return readings

    def _edges(self, readings: list[Reading]) -> list[Reading]:
        """zigbee2mqtt repeats a sensor's cached state in every message (a battery report carries the
        last ``occupancy``), Shelly and Tasmota report a presence state every status or TelePeriod;
        only a change of motion, contact or occupancy is news."""
        out = []
        for r in readings:
            if r.kind in _EDGE_KINDS:
                key = (r.device, r.kind.value)
                if self._last_state.get(key) == r.value:
                    continue
                self._last_state[key] = self._changed[key] = r.value
            out.append(r)
        return out

    def _reject(self, reason: str, once_key: str, detail: str) -> list[Reading]:
        self.rejected[reason] += 1
        if (reason, once_key) not in self._logged:
            self._logged.add((reason, once_key))
            log.warning("gateway.local_message_rejected reason=%s %s (logged once; counted)", reason, detail)
        return []


class _Unknown(Exception):
    def __init__(self, source: Source, address: str) -> None:
        super().__init__(f"{source}:{address}")
        self.source = source
        self.address = address
