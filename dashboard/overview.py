"""The overview: one row per household the caller may see, most urgent first (pure given ``now``)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from dashboard.climate_view import CurrentClimate
from dashboard.views import CoverageView, HouseholdView
from detection.detector import HouseholdStatus
from detection.model import Tuning
from mimamori.contract import GatewayState
from store.base import DeviceState, GatewayLiveState, HouseholdActivity

TUNING: Final = Tuning()  # detection's thresholds: low battery, device silent

STATE_RANK: Final = {
    HouseholdStatus.QUIET: 0,
    HouseholdStatus.BLIND: 1,
    HouseholdStatus.ACTIVE: 2,
    HouseholdStatus.AWAY: 3,
}


@dataclass(frozen=True, slots=True)
class DeviceProblem:
    device: str
    problem: str  # low_battery, silent, gateway_offline


@dataclass(frozen=True, slots=True)
class OverviewRow:
    household: HouseholdView
    state: HouseholdStatus
    last_activity_at: datetime | None
    open_incidents: int
    problems: tuple[DeviceProblem, ...]
    coverage: CoverageView | None = None  # who in its chain cannot be reached (drills)
    climate: CurrentClimate | None = None  # the hottest room heard lately (室温)


def device_problems(
    devices: Sequence[DeviceState], gateways: Sequence[GatewayLiveState], now: datetime
) -> tuple[DeviceProblem, ...]:
    found = [DeviceProblem(g.gateway, "gateway_offline") for g in gateways if g.state is GatewayState.OFFLINE]
    for device in devices:
        if device.battery is not None and device.battery < TUNING.low_battery_pct:
            found.append(DeviceProblem(device.device, "low_battery"))
        if (now - device.last_seen_at).total_seconds() >= TUNING.device_silent_s:
            found.append(DeviceProblem(device.device, "silent"))
    return tuple(found)


def urgency(row: OverviewRow) -> tuple[int, int, int, float]:
    """Sort key: open incidents first, then quiet, blind, active, away; more device problems and
    older last activity first."""
    last = row.last_activity_at.timestamp() if row.last_activity_at else float("-inf")
    return (0 if row.open_incidents else 1, STATE_RANK[row.state], -len(row.problems), last)


def build_overview(
    households: Collection[HouseholdView],
    states: Mapping[str, HouseholdStatus],
    activity: Mapping[str, HouseholdActivity],
    problems: Mapping[str, tuple[DeviceProblem, ...]],
    open_incidents: Mapping[str, int],
    coverage: Mapping[str, CoverageView] | None = None,
    climate: Mapping[str, CurrentClimate] | None = None,
) -> list[OverviewRow]:
    rows = [
        OverviewRow(
            household=h,
            state=states[h.id],
            last_activity_at=activity[h.id].last_activity_at if h.id in activity else None,
            open_incidents=open_incidents.get(h.id, 0),
            problems=problems.get(h.id, ()),
            coverage=(coverage or {}).get(h.id),
            climate=(climate or {}).get(h.id),
        )
        for h in households
    ]
    rows.sort(key=urgency)
    return rows
