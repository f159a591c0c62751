"""What providers report of sent messages: statuses recorded, and alerts that failed (or were never
reported delivered) moved to the person's next channel, or to the next person."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from escalation.channels import DELIVERY_DEADLINE, choose
from escalation.engine_settings import EngineSettings
from escalation.messaging import Messenger
from escalation.models import SYSTEM, IncidentState, SmsMessage, SmsPurpose, SmsStatus, SnapshotContact
from escalation.repository import EscalationRepository
from escalation.sms.errors import ErrorClass, classify, describe
from registry.models import ContactChannel, TierKind

log = logging.getLogger(__name__)


class Delivery:
    def __init__(
        self,
        repo: EscalationRepository,
        settings: EngineSettings,
        messenger: Messenger,
        *,
        on_failed: Callable[[str | None, str | None, str, datetime], None],
        on_queued: Callable[[], None],
    ) -> None:
        self._repo = repo
        self._s = settings
        self._messenger = messenger
        self._on_failed = on_failed  # the engine: the next person at once
        self._on_queued = on_queued

    def handle_status(self, sid: str, status: str, error_code: int | None, now: datetime) -> bool:
        """An SMS delivery status callback; False when the SID is not ours. Undelivered alerts move on."""
        mapped = {
            "delivered": SmsStatus.DELIVERED,
            "undelivered": SmsStatus.UNDELIVERED,
            "failed": SmsStatus.FAILED,
        }.get(status)
        reason = f"{status} {error_code}: {describe(error_code)}"
        permanent = classify(error_code) is ErrorClass.PERMANENT
        return self.record_delivery(sid, mapped, status, error_code, reason, now, permanent=permanent)

    def record_delivery(
        self,
        sid: str,
        mapped: SmsStatus | None,
        status: str,
        error_code: int | None,
        reason: str,
        now: datetime,
        *,
        permanent: bool,
    ) -> bool:
        """What the provider reports of a message on any channel (``mapped`` None: an in-between
        status, only audited); False when the id is not ours. An alert not delivered falls back."""
        with self._repo.transaction():
            message = self._repo.sms_by_sid(sid)
            if message is None:
                return False
            self._repo.audit(
                now,
                "twilio",
                f"{message.channel}.status",
                incident=message.incident,
                detail={
                    "sms": message.id,
                    "status": status,
                    "code": error_code,
                    "contact": message.contact,
                    "channel": message.channel.value,
                },
            )
            if mapped is None or message.status in (SmsStatus.UNDELIVERED, SmsStatus.FAILED):
                return True
            self._repo.update_sms(replace(message, status=mapped, error_code=error_code, updated_at=now))
        if mapped is not SmsStatus.DELIVERED and message.purpose in (SmsPurpose.ALERT, SmsPurpose.OPERATOR):
            if permanent:
                log.warning(
                    "coverage.gap contact=%s channel=%s reason=%s", message.contact, message.channel, reason
                )
            self.fall_back(message, reason, now)
        return True

    def fall_back(self, message: SmsMessage, reason: str, now: datetime) -> bool:
        """An alert failed on its channel: the same alert on the person's next channel at once; when
        they have none left, the next person (:class:`DeliveryFailed`). True when a channel was left."""
        nxt = None
        if message.purpose is SmsPurpose.ALERT and message.incident and message.contact:
            with self._repo.transaction():
                nxt = self._next_channel(message, reason, now)
        if nxt is None:
            self._on_failed(message.incident, message.contact, reason, now)
            return False
        self._on_queued()
        return True

    def _next_channel(self, message: SmsMessage, reason: str, now: datetime) -> ContactChannel | None:
        incident = self._repo.incident(message.incident or "")
        person = self._repo.contact(message.contact or "")
        if incident is None or person is None or incident.state is IncidentState.RESOLVED:
            return None
        if person.opted_out_at is not None:
            return None
        tried = self._repo.alert_channels(incident.id, person.id)
        nxt = choose(person, SmsPurpose.ALERT, self._s.channels, tried)
        if nxt is None:
            return None
        snap = next((c for w in incident.snapshot.waves for c in w.contacts if c.id == person.id), None)
        tier = next((w.tier for w in incident.snapshot.waves if snap in w.contacts), TierKind.NEIGHBOURS)
        base = SnapshotContact(person.id, person.name, person.phone, person.role, person.language)
        body = self._messenger.alert_body(incident, tier, base, now, nxt)
        key = f"{message.idempotency_key.split('|')[0]}|{nxt}"
        self._messenger.queue(
            key,
            person.phone,
            body,
            SmsPurpose.ALERT,
            incident,
            person.id,
            now,
            urgent=message.urgent,
            channel=nxt,
        )
        self._messenger.audit(
            now,
            SYSTEM,
            "notify.fallback",
            incident,
            contact=person.id,
            failed=message.channel.value,
            next=nxt.value,
            reason=reason,
        )
        log.info(
            "notify.fallback incident=%s contact=%s from=%s to=%s reason=%s",
            incident.id,
            person.id,
            message.channel,
            nxt,
            reason,
        )
        return nxt

    def check_overdue(self, now: datetime) -> int:
        """Alerts the provider took but did not report delivered within their channel's deadline
        (:data:`escalation.channels.DELIVERY_DEADLINE`) fall back to the person's next channel; a person
        with no other channel is left to the wave's own wait. How many fell back."""
        moved = 0
        for channel in self._s.receipts:
            deadline = DELIVERY_DEADLINE.get(channel)
            if deadline is None:
                continue
            for message in self._repo.overdue_alerts(channel, now - deadline):
                person = self._repo.contact(message.contact or "")
                tried = self._repo.alert_channels(message.incident or "", message.contact or "")
                if person is None or choose(person, SmsPurpose.ALERT, self._s.channels, tried) is None:
                    continue
                minutes = int(deadline.total_seconds() // 60)
                late = replace(message, status=SmsStatus.UNDELIVERED, error=f"not delivered in {minutes} min")
                self._repo.update_sms(replace(late, updated_at=now))
                moved += self.fall_back(late, late.error, now)
        return moved
