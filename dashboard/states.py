"""HouseholdView state for the dashboard, from what the other stages persisted, judged with detection's
own rules: an away period or a care-calendar absence covering ``now`` is away; detection's
``blind_kind`` over the live gateway and device state (or an open blind incident, or no data ever) is
blind; an open community incident (inactivity, missed wake-up, ...) is quiet; otherwise active.

Detection's baselines live in the alerts process; the findings they raise reach this process as
incidents, which is why "quiet" is read from the incidents, never re-derived here.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Final

from dashboard.views import LiveView
from detection.detector import HouseholdStatus, blind_kind
from detection.findings import AUDIENCE, Audience, FindingKind
from detection.model import TechnicalView, Tuning
from escalation.repository import EscalationRepository
from mimamori.contract import GatewayState
from registry.calendar import occurrences
from store.base import DeviceState, GatewayLiveState, HouseholdActivity

BLIND_KINDS: Final = frozenset({FindingKind.BLIND_GATEWAY, FindingKind.BLIND_SENSORS})


class PersistedStates:
    def __init__(self, repo: EscalationRepository, tuning: Tuning | None = None) -> None:
        self._repo = repo
        self._tuning = tuning or Tuning()

    def states(
        self, households: Collection[str], now: datetime, live: LiveView
    ) -> dict[str, HouseholdStatus]:
        wanted = set(households)
        one = next(iter(wanted)) if len(wanted) == 1 else None
        away = {a.household for a in self._repo.away_periods(one, now=now) if a.start <= now}
        away |= self._on_calendar_absence(wanted, now)
        blind = {
            h
            for h in wanted
            if self._cannot_tell(live.activity.get(h), live.gateways.get(h, ()), live.devices.get(h, ()), now)
        }
        quiet: set[str] = set()
        for incident in self._repo.incidents(one, open_only=True, limit=1_000_000):
            if incident.kind in BLIND_KINDS:
                blind.add(incident.household)
            elif AUDIENCE[incident.kind] is Audience.COMMUNITY:
                quiet.add(incident.household)
        return {h: _state(h, away, blind, quiet) for h in wanted}

    def _on_calendar_absence(self, households: set[str], now: datetime) -> set[str]:
        found: set[str] = set()
        for household, entries in self._repo.calendars().items():
            row = self._repo.household(household) if household in households else None
            if row is not None and occurrences(entries, row.time_zone, now, now + timedelta(seconds=1)):
                found.add(household)
        return found

    def _cannot_tell(
        self,
        live: HouseholdActivity | None,
        gateways: Sequence[GatewayLiveState],
        devices: Sequence[DeviceState],
        now: datetime,
    ) -> bool:
        if live is None or live.last_activity_at is None:
            return True  # no data is not no activity
        offline = [g.changed_at for g in gateways if g.state is GatewayState.OFFLINE]
        view = TechnicalView(gateway_offline_since=min(offline) if offline else None, devices=devices)
        checkins_seen = live.last_event_at is not None and live.last_event_at > live.last_activity_at
        return blind_kind(view, checkins_seen, self._tuning, now.timestamp()) is not None


def _state(household: str, away: set[str], blind: set[str], quiet: set[str]) -> HouseholdStatus:
    if household in away:
        return HouseholdStatus.AWAY
    if household in blind:
        return HouseholdStatus.BLIND
    if household in quiet:
        return HouseholdStatus.QUIET
    return HouseholdStatus.ACTIVE
