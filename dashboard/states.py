"""Household state for the dashboard, read from what the other stages persisted: an away period
covering ``now`` is away; an open blind incident or an offline gateway is blind (we cannot tell);
an open community incident (inactivity, missed wake-up, ...) is quiet; otherwise active.

The detector decides; this only reads its decisions (incidents) and the live gateway state.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Final

from alerts.findings import AUDIENCE, Audience, FindingKind
from alerts.state.repository import StateRepository
from dashboard.records import HouseholdState
from mimamori.contract import GatewayState
from store.base import ActivityReader

BLIND_KINDS: Final = frozenset({FindingKind.BLIND_GATEWAY, FindingKind.BLIND_SENSORS})


class PersistedStates:
    def __init__(self, repo: StateRepository, activity: ActivityReader) -> None:
        self._repo = repo
        self._activity = activity

    def states(self, households: Collection[str], now: datetime) -> dict[str, HouseholdState]:
        wanted = set(households)
        one = next(iter(wanted)) if len(wanted) == 1 else None
        away = {a.household for a in self._repo.away_periods(one, now=now) if a.start <= now}
        blind = {
            g.household
            for g in self._activity.gateways(one)
            if g.state is GatewayState.OFFLINE and g.household in wanted
        }
        quiet: set[str] = set()
        for incident in self._repo.incidents(one, open_only=True, limit=1_000_000):
            if incident.kind in BLIND_KINDS:
                blind.add(incident.household)
            elif AUDIENCE[incident.kind] is Audience.COMMUNITY:
                quiet.add(incident.household)
        return {h: _state(h, away, blind, quiet) for h in wanted}


def _state(household: str, away: set[str], blind: set[str], quiet: set[str]) -> HouseholdState:
    if household in away:
        return HouseholdState.AWAY
    if household in blind:
        return HouseholdState.BLIND
    if household in quiet:
        return HouseholdState.QUIET
    return HouseholdState.ACTIVE
