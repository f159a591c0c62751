"""What staff do with disaster checks, from any process (the command line, the dashboard): request
one, ask for its end, ask an area's volunteers, read its status. The alerts service acts on the requests
on its next tick (:class:`escalation.disaster.checks.DisasterChecks`), on its own clock.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from escalation.disaster.models import DisasterCheck
from escalation.disaster.records import DisasterRecords
from escalation.disaster.standing import status

log = logging.getLogger(__name__)


def request(
    records: DisasterRecords, organisation: str | None, area: str | None, by: str, now: datetime
) -> tuple[DisasterCheck, bool]:
    """Ask for a check (started by the alerts service's next tick); (the check, True) or (the open check
    in its way, False)."""
    check = DisasterCheck(uuid.uuid4().hex[:10], organisation, area, now, by)
    other = records.request(check)
    if other is not None:
        return other, False
    records.repo.audit(
        now, by, "disaster.requested", detail={"check": check.id, "org": organisation, "area": area}
    )
    log.info("disaster.requested check=%s org=%s area=%s by=%s", check.id, organisation, area, by)
    return check, True


def request_end(records: DisasterRecords, check: DisasterCheck, by: str, now: datetime) -> bool:
    """Ask for the end of a check (ended, with its report, by the alerts service's next tick)."""
    if not records.request_end(check.id, by):
        return False
    records.repo.audit(now, by, "disaster.end_requested", detail={"check": check.id})
    log.info("disaster.end_requested check=%s by=%s", check.id, by)
    return True


def ask_area(records: DisasterRecords, check: DisasterCheck, area: str, by: str, now: datetime) -> bool:
    """Record that staff asked the volunteers of ``area`` (any process; the alerts service sends)."""
    if not records.add_ask(check.id, area, now, by):
        return False
    records.repo.audit(now, by, "disaster.ask_volunteers", detail={"check": check.id, "area": area})
    return True


def running_status(
    records: DisasterRecords, organisation: str | None = None, only: Collection[str] | None = None
) -> dict[str, Any] | None:
    """The latest check's status (``standing.status``) with household names, or None; of the households
    in ``only`` when given (what one organisation's staff may see of a check across organisations)."""
    check = records.latest(organisation)
    if check is None:
        return None
    names = {h.id: h.name for h in records.repo.households(organisation=check.organisation, area=check.area)}
    homes = [h for h in records.households(check.id) if only is None or h.household in only]
    return status(check, homes, names)
