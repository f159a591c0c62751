"""The dashboard's disaster checks: the latest check's status, and staff's requests (start, end, ask an
area's volunteers) written to the escalation state file, where the alerts service acts on them."""

from __future__ import annotations

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

    def status(self, organisation: str | None = None) -> dict[str, Any] | None:
        return running_status(self._records, organisation)

    def areas(self, organisation: str | None = None) -> list[str]:
        """The areas households are in (of one organisation)."""
        return sorted({h.area for h in self._repo.households(organisation=organisation) if h.area})

    def start(self, organisation: str | None, area: str | None, actor: str, now: datetime) -> bool:
        """False: another check is open."""
        return request(self._records, organisation, area, actor, now)[1]

    def end(self, check_id: str, actor: str, now: datetime) -> bool:
        check = self._records.check(check_id)
        return check is not None and check.ended_at is None and request_end(self._records, check, actor, now)

    def ask(self, check_id: str, area: str, actor: str, now: datetime) -> bool:
        check = self._records.check(check_id)
        if check is None or not check.running:
            return False
        if area not in {h.area for h in self._records.households(check.id)}:
            return False
        return ask_area(self._records, check, area, actor, now)
