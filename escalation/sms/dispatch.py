"""The dispatcher: sends the durable queue through the notifier port, each message on its channel.

Urgent first, paced to each channel's rate; 429/5xx/timeouts retried with exponential backoff; before
any retry the provider is asked whether it already has the message (a timeout may hide a success), so
a message is never sent twice. A permanent failure hands the alert on at once (the person's next
channel, else the next person: ``on_failed``). Audit actions are ``<channel>.sent`` (``sms.sent``,
``voice.sent``, ...), ``.recovered``, ``.retry``, ``.failed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from escalation.models import SmsMessage, SmsPurpose, SmsStatus
from escalation.notifier import Notifier, NotifyError, Sent
from escalation.repository import EscalationRepository
from mimamori.clock import Clock
from registry.models import ContactChannel

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    rate_per_s: float = 1.0  # per channel
    max_attempts: int = 8
    backoff_base_s: float = 5.0
    backoff_max_s: float = 300.0
    idle_check_s: float = 5.0  # re-check the queue at least this often (real seconds)


class SmsDispatcher:
    def __init__(
        self,
        repo: EscalationRepository,
        notifiers: Sequence[Notifier],
        clock: Clock,
        settings: DispatchSettings,
        on_failed: Callable[[SmsMessage, str, datetime], None],
    ) -> None:
        self._repo = repo
        self._notifiers = {n.channel: n for n in notifiers}
        self._clock = clock
        self._s = settings
        self._on_failed = on_failed
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._next_slot: dict[ContactChannel, float] = {}
        self._stopping = False
        self.changed = asyncio.Condition()  # notified after every attempt (tests wait on it)
        self.attempts = 0

    @property
    def channels(self) -> frozenset[ContactChannel]:
        return frozenset(self._notifiers)

    def receipts(self, channel: ContactChannel) -> bool:
        """Does this channel's provider report delivery (so an overdue alert can fall back)?"""
        notifier = self._notifiers.get(channel)
        return notifier is not None and notifier.receipts

    async def start(self) -> None:
        for notifier in self._notifiers.values():
            await notifier.start()
        self._task = asyncio.create_task(self._run(), name="sms-dispatcher")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task  # finishes the attempt in progress (bounded by the sender's timeout)
            self._task = None
        for notifier in self._notifiers.values():
            await notifier.stop()

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        requeued = False
        while not self._stopping:
            self._wake.clear()
            wait = self._s.idle_check_s
            try:  # nothing may end this loop but stop(): a dead dispatcher is a silent outage
                if not requeued:
                    self._requeue_in_flight()
                    requeued = True
                await self.run_due()
                wait = self._idle_wait()
            except Exception:
                log.exception("sms.dispatch_crashed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    def _requeue_in_flight(self) -> None:
        """Messages the previous process handed to the provider without hearing back: try again (the
        provider is asked first whether it has them)."""
        for message in self._repo.sms_in_flight():
            self._repo.update_sms(replace(message, status=SmsStatus.QUEUED, error="in flight at restart"))

    def _idle_wait(self) -> float:
        nxt = self._repo.next_sms_attempt()
        if nxt is None:
            return self._s.idle_check_s
        return min(max((nxt - self._clock.now()).total_seconds(), 0.01), self._s.idle_check_s)

    async def run_due(self) -> int:
        """Send everything due now (urgent first); how many attempts were made."""
        made = 0
        while not self._stopping:
            due = self._repo.due_sms(self._clock.now(), limit=1)
            if not due:
                return made
            await self._pace(due[0].channel)
            await self._attempt(due[0])
            made += 1
        return made

    async def _pace(self, channel: ContactChannel) -> None:
        loop = asyncio.get_running_loop()
        slot = self._next_slot.get(channel, 0.0)
        wait = slot - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        self._next_slot[channel] = max(slot, loop.time()) + 1.0 / self._s.rate_per_s

    async def _attempt(self, m: SmsMessage) -> None:
        now = self._clock.now()
        if m.purpose is SmsPurpose.DRILL_DRY_RUN:  # the queue and this loop are what the drill checks
            self._sent(m, Sent("dry-run", "dry-run"), now, "sms.dry_run")
            async with self.changed:
                self.changed.notify_all()
            return
        try:
            notifier = self._notifiers.get(m.channel)
            if notifier is None:
                raise NotifyError(f"channel {m.channel} is not configured", retryable=False)
            found = self._unrecorded(await notifier.find_sent(m), m) if m.attempts else None
            if found is not None:
                self._sent(m, found, now, "recovered")
                return
            sending = replace(m, status=SmsStatus.SENDING, attempts=m.attempts + 1, updated_at=now)
            self._repo.update_sms(sending)
            sent = await notifier.send(sending)
            self._sent(sending, sent, self._clock.now(), "sent")
        except NotifyError as exc:
            self._failed(replace(m, attempts=m.attempts + 1), exc, self._clock.now())
        except Exception as exc:  # a bug or an unforeseen library error: keep the message, retry later
            log.exception("%s.unexpected_error id=%s", m.channel, m.id)
            unexpected = NotifyError(f"unexpected {type(exc).__name__}", retryable=True, ambiguous=True)
            self._failed(replace(m, attempts=m.attempts + 1), unexpected, self._clock.now())
        finally:
            self.attempts += 1
            async with self.changed:
                self.changed.notify_all()

    def _unrecorded(self, candidates: Sequence[Sent], m: SmsMessage) -> Sent | None:
        """The first candidate that is not another queued message's (calls have no body to match)."""
        for sent in candidates:
            other = self._repo.sms_by_sid(sent.sid)
            if other is None or other.id == m.id:
                return sent
        return None

    def _sent(self, m: SmsMessage, sent: Sent, now: datetime, what: str) -> None:
        event = f"{m.channel}.{what}"
        with self._repo.transaction():
            self._repo.update_sms(
                replace(m, status=SmsStatus.SENT, provider_sid=sent.sid, updated_at=now, next_attempt_at=None)
            )
            self._repo.audit(
                now,
                "system",
                event,
                incident=m.incident,
                household=None,
                detail={
                    "sms": m.id,
                    "sid": sent.sid,
                    "contact": m.contact,
                    "purpose": m.purpose.value,
                    "channel": m.channel.value,
                },
            )
        log.info("%s id=%s sid=%s purpose=%s attempts=%s", event, m.id, sent.sid, m.purpose, m.attempts)

    def _failed(self, m: SmsMessage, exc: NotifyError, now: datetime) -> None:
        retry = exc.retryable and m.attempts < self._s.max_attempts
        if retry:
            delay = min(self._s.backoff_base_s * 2 ** (m.attempts - 1), self._s.backoff_max_s)
            updated = replace(
                m,
                status=SmsStatus.QUEUED,
                next_attempt_at=now + timedelta(seconds=delay),
                error_code=exc.code,
                error=str(exc),
                updated_at=now,
            )
        else:
            updated = replace(m, status=SmsStatus.FAILED, error_code=exc.code, error=str(exc), updated_at=now)
        with self._repo.transaction():
            self._repo.update_sms(updated)
            self._repo.audit(
                now,
                "system",
                f"{m.channel}.retry" if retry else f"{m.channel}.failed",
                incident=m.incident,
                detail={
                    "sms": m.id,
                    "code": exc.code,
                    "error": str(exc),
                    "attempts": m.attempts,
                    "channel": m.channel.value,
                },
            )
        if retry:
            log.warning("%s.retry id=%s attempts=%s error=%s", m.channel, m.id, m.attempts, exc)
            return
        log.warning("%s.failed id=%s code=%s error=%s", m.channel, m.id, exc.code, exc)
        if m.purpose in (SmsPurpose.ALERT, SmsPurpose.OPERATOR):
            self._on_failed(updated, str(exc), now)
