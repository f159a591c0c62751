"""The dashboard's disaster checks: the latest check's status, and staff's requests (start, end, ask an
area's volunteers) written to the escalation state file, where the alerts service acts on them."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from escalation.disaster.commands import ask_area, request, request_end, running_status
from escalation.disaster.records import DisasterRecords
from escalation.repository import EscalationRepository


class DisasterDesk:
    """Over an open :class:`EscalationRepository` (the caller opens and closes it)."""

    def __init__(self, repo: EscalationRepository) -> None:
        self._records = DisasterRecords(repo)
        self._repo = repo

    def status(
        self, organisation: str | None = None, only: Collection[str] | None = None
    ) -> dict[str, Any] | None:
        """The latest check of ``organisation`` (None: of any), limited to the households in ``only``."""
        return running_status(self._records, organisation, only)

    def areas(self, organisation: str | None = None) -> list[str]:
        """The areas households are in (of one organisation)."""
        return sorted({h.area for h in self._repo.households(organisation=organisation) if h.area})

    def start(self, organisation: str | None, area: str | None, actor: str, now: datetime) -> bool:
        """False: another check is open."""
        return request(self._records, organisation, area, actor, now)[1]

    def end(self, check_id: str, organisation: str | None, actor: str, now: datetime) -> bool:
        """End a check of ``organisation`` (None: the platform's caller, any check)."""
        check = self._records.check(check_id)
        if check is None or check.ended_at is not None:
            return False
        if organisation is not None and check.organisation != organisation:
            return False  # another organisation's, or every organisation's: not theirs to end
        return request_end(self._records, check, actor, now)

    def ask(self, check_id: str, area: str, only: Collection[str] | None, actor: str, now: datetime) -> bool:
        """Ask an area's volunteers, if the area has households of the check the caller may see."""
        check = self._records.check(check_id)
        if check is None or not check.running:
            return False
        homes = self._records.households(check.id)
        if not any(h.area == area and (only is None or h.household in only) for h in homes):
            return False
        return ask_area(self._records, check, area, actor, now)
