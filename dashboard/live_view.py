"""Reading the live state of households from the store once per request."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Final

from dashboard.views import LiveView
from store.base import ActivityReader, GatewayLiveState, HouseholdActivity

FEW: Final = 200  # fewer households than this: gateways are read per household, not all at once


def read_live(reader: ActivityReader, households: Collection[str]) -> LiveView:
    wanted = set(households)
    activity = {a.household: a for a in reader.household_activity() if a.household in wanted}
    gateways: dict[str, list[GatewayLiveState]] = {h: [] for h in wanted}
    found = (
        (g for h in sorted(wanted) for g in reader.gateways(h))
        if len(wanted) < FEW
        else reader.gateways(None)
    )
    for gateway in found:
        if gateway.household in wanted:
            gateways[gateway.household].append(gateway)
    devices = reader.devices_of(sorted(wanted))
    return LiveView(activity, gateways, {h: devices.get(h, []) for h in wanted})


def read_one(reader: ActivityReader, household: str, recent_activity: Sequence[datetime]) -> LiveView:
    """One household. With its recent activity times at hand, the household's live activity is
    derived from them and its devices (newest sign of life), without reading every household's."""
    devices = reader.devices(household)
    gateways = reader.gateways(household)
    if recent_activity:
        newest = max([recent_activity[-1], *(d.last_seen_at for d in devices)])
        activity = {household: HouseholdActivity(household, recent_activity[-1], None, newest)}
    else:
        activity = {a.household: a for a in reader.household_activity() if a.household == household}
    return LiveView(activity, {household: gateways}, {household: devices})
