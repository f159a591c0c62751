"""How devices report what the person does: PIR occupancy with a hold-off, door contacts, metering plugs,
presence sensors and bed pads.

Events are produced as plain tuples ``(at_ms, device, kind, value)``; the home turns them into
:class:`~firmware_sim.events.SimEvent` after faults are applied.
"""

from __future__ import annotations

import random
from typing import Final

from firmware_sim.kits import Device, HouseRoom, Kit
from firmware_sim.routine import PIR_RATE_PER_HOUR, Act, Activity
from mimamori.contract import Kind

Raw = tuple[int, str, Kind, float]

PIR_TIMEOUT_MS: Final = 90_000
"""zigbee2mqtt's default ``occupancy_timeout``: "clear" after 90 s without a detection."""
PLUG_REPORT_MS: Final = 300_000
"""A plug re-reports its power every 5 minutes while an appliance runs (Tasmota's TelePeriod)."""
STANDBY_W: Final = {"kettle": 0.0, "microwave": 1.2, "tv": 0.4}
DOOR_HOLD_S: Final = {"main-door": (4.0, 15.0), "fridge-door": (6.0, 35.0), "toilet-door": (2.0, 5.0)}
PRESENCE_HOLD_MS: Final = 30_000
"""An mmWave sensor says "clear" this long after the person left (it sees someone still, breathing)."""
PAD_HOLD_MS: Final = 5_000
"""A bed pad's debounce."""
_IN_BED: Final = frozenset({Activity.SLEEP, Activity.NAP, Activity.IN_BED})
REACH_MS: Final = PIR_TIMEOUT_MS + 60_000
"""How far past an act's end (or its last appliance use) its reports can reach."""

_ENTRY_SEEN: Final = frozenset(
    {Activity.FALLEN, Activity.IN_BED, Activity.OUT}
)  # activities whose start is not a walk into the room


def act_reach(act: Act) -> int:
    last = max([act.end, *(u.end for u in act.uses), *(t for _, t in act.doors)])
    return last + REACH_MS


def act_reports(act: Act, kit: Kit, liveliness: float, rng: random.Random) -> list[Raw]:
    out: list[Raw] = []
    pir = kit.motion_in(act.room)
    if pir is not None:
        rate = PIR_RATE_PER_HOUR[act.what] * liveliness / 3_600_000
        detections: list[int] = []
        if act.what not in _ENTRY_SEEN:
            detections.append(act.start + int(rng.uniform(300, 2500)))
        if rate > 0:
            at = act.start + rng.expovariate(rate)
            while at < act.end:
                detections.append(int(at))
                at += rng.expovariate(rate)
        _occupancy(out, pir.id, sorted(detections))
    for door, opened in act.doors:
        if kit.has(door):
            lo, hi = DOOR_HOLD_S.get(door, (3.0, 10.0))
            out.append((opened, door, Kind.DOOR, 1.0))
            out.append((opened + int(rng.uniform(lo, hi) * 1000), door, Kind.DOOR, 0.0))
    for use in act.uses:
        if kit.has(use.device):
            at = use.start
            while at < use.end:
                out.append((at, use.device, Kind.POWER, round(use.watts * rng.uniform(0.97, 1.03), 1)))
                at += PLUG_REPORT_MS
            out.append((use.end, use.device, Kind.POWER, STANDBY_W.get(use.device, 0.0)))
    return out


def occupancy_reports(
    act: Act, before: Act | None, after: Act | None, kit: Kit, rng: random.Random
) -> list[Raw]:
    """Presence sensors and bed pads: occupied when the person comes into what the device covers (its
    room; the bed), clear a hold time after they leave it. ``before``/``after`` are the acts around
    ``act``: within what a device covers there is no edge, so lying still on the floor after a fall
    keeps a presence sensor occupied. An entry is reported a little after the previous act's clear
    would be, so a clear and an entry at the same boundary never leave the state wrong."""
    out: list[Raw] = []
    for device in kit.devices:
        if device.kind is not Kind.OCCUPANCY or not _covers(device, act):
            continue
        hold = PAD_HOLD_MS if device.room is HouseRoom.BEDROOM else PRESENCE_HOLD_MS
        if before is None or not _covers(device, before):
            out.append((act.start + hold + rng.randrange(500, 3000), device.id, Kind.OCCUPANCY, 1.0))
        if after is None or not _covers(device, after):
            out.append((act.end + hold, device.id, Kind.OCCUPANCY, 0.0))
    return out


def _covers(device: Device, act: Act) -> bool:
    if device.room is HouseRoom.BEDROOM:  # a bed pad
        return act.room is HouseRoom.BEDROOM and act.what in _IN_BED
    return act.room is device.room and act.what is not Activity.OUT


def _occupancy(out: list[Raw], device: str, detections: list[int]) -> None:
    """A PIR reports 1 at the first detection and 0 once ``PIR_TIMEOUT_MS`` pass without one.
    The person leaving ends detections; the clear may come after the act."""
    occupied_until = -1
    for at in detections:
        if at > occupied_until:
            if occupied_until >= 0:
                out.append((occupied_until, device, Kind.MOTION, 0.0))
            out.append((at, device, Kind.MOTION, 1.0))
        occupied_until = at + PIR_TIMEOUT_MS
    if occupied_until >= 0:
        out.append((occupied_until, device, Kind.MOTION, 0.0))


def periodic_times(phase_ms: int, period_ms: int, lo: int, hi: int) -> range:
    """Times ``phase + k * period`` within ``lo..hi`` (half-open)."""
    first = phase_ms + max(0, -(-(lo - phase_ms) // period_ms)) * period_ms
    return range(first, hi, period_ms)
