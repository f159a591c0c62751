"""When a technical incident's fault went away (pure): the home or device heard again, a battery replaced."""

from __future__ import annotations

from collections.abc import Sequence

from detection.findings import FindingKind
from escalation.chain import BLIND_KINDS
from escalation.models import Incident
from store.base import DeviceState, HouseholdActivity

BATTERY_REPLACED_PCT = 50.0  # a low-battery incident closes itself when its device reports at least this


def fault_cleared(incident: Incident, live: HouseholdActivity, devices: Sequence[DeviceState]) -> str:
    """Why a technical incident's fault went away ("" while it has not): the gateway or the sensors of a
    blind home are heard again, a silent device is heard again, a low battery was replaced. A stuck
    sensor is closed by staff (nothing tells a sensor that works from one that still sticks)."""
    if incident.kind in BLIND_KINDS:
        back = live.last_event_at is not None and live.last_event_at > incident.opened_at
        return "heard again" if back else ""
    device = next((d for d in devices if d.device == incident.device), None)
    if device is None:
        return ""
    if incident.kind is FindingKind.DEVICE_SILENT and device.last_seen_at > incident.opened_at:
        return f"{device.device} heard again"
    if incident.kind is FindingKind.LOW_BATTERY and (device.battery or 0.0) >= BATTERY_REPLACED_PCT:
        return f"{device.device} battery {device.battery:.0f}%"
    return ""
