"""The dispatcher on a real SQLite queue with a recording sender: urgent first, pacing, backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from escalation.models import SmsMessage, SmsPurpose, SmsStatus
from escalation.repository import EscalationRepository
from escalation.sms.dispatch import DispatchSettings, SmsDispatcher
from escalation.sms.notifier import SmsNotifier
from escalation.sms.port import Sent, SmsError
from mimamori.clock import FakeClock
from tests.support.harness import wait_for


class RecordingSender:
    def __init__(self, fail: dict[str, SmsError] | None = None) -> None:
        self.sent: list[str] = []
        self.fail = fail or {}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, to: str, body: str, status_callback: str | None) -> Sent:
        if to in self.fail:
            raise self.fail[to]
        self.sent.append(body)
        return Sent(f"SM{len(self.sent)}", "queued")

    async def find_sent(self, to: str, body: str, since: datetime) -> Sent | None:
        return None


def setup(tmp_path: Path, sender: RecordingSender, clock: FakeClock, failed: list[SmsMessage]):
    repo = EscalationRepository(tmp_path / "s.sqlite3")
    repo.open()
    settings = DispatchSettings(rate_per_s=1000.0, max_attempts=3, backoff_base_s=5.0, backoff_max_s=60.0)
    dispatcher = SmsDispatcher(
        repo, [SmsNotifier(sender)], clock, settings, lambda m, _r, _n: failed.append(m)
    )
    return repo, dispatcher


async def test_urgent_messages_go_first(tmp_path: Path, clock: FakeClock) -> None:
    sender = RecordingSender()
    repo, dispatcher = setup(tmp_path, sender, clock, [])
    for n in range(3):
        repo.enqueue_sms(
            key=f"n{n}",
            to="+81900",
            body=f"notice {n}",
            purpose=SmsPurpose.REPLY,
            urgent=False,
            now=clock.now(),
        )
    repo.enqueue_sms(
        key="u", to="+81901", body="urgent", purpose=SmsPurpose.ALERT, urgent=True, now=clock.now()
    )
    assert await dispatcher.run_due() == 4
    assert sender.sent == ["urgent", "notice 0", "notice 1", "notice 2"]


async def test_retryable_errors_back_off_then_give_up(tmp_path: Path, clock: FakeClock) -> None:
    sender = RecordingSender({"+81900": SmsError("503", retryable=True, code=20503)})
    failed: list[SmsMessage] = []
    repo, dispatcher = setup(tmp_path, sender, clock, failed)
    repo.enqueue_sms(
        key="a",
        to="+81900",
        body="x",
        purpose=SmsPurpose.ALERT,
        urgent=True,
        now=clock.now(),
        incident="i",
        contact="c",
    )
    assert await dispatcher.run_due() == 1
    assert await dispatcher.run_due() == 0  # not due before the backoff
    (m,) = repo.sms_messages()
    assert (m.status, m.attempts, m.next_attempt_at) == (
        SmsStatus.QUEUED,
        1,
        clock.now() + timedelta(seconds=5),
    )
    clock.advance(timedelta(seconds=5))
    assert await dispatcher.run_due() == 1
    assert repo.sms_messages()[0].next_attempt_at == clock.now() + timedelta(seconds=10)
    clock.advance(timedelta(seconds=10))
    assert await dispatcher.run_due() == 1
    (m,) = repo.sms_messages()
    assert (m.status, m.attempts, m.error_code) == (SmsStatus.FAILED, 3, 20503)
    assert [f.id for f in failed] == [m.id]  # the incident moves on


async def test_permanent_error_fails_at_once(tmp_path: Path, clock: FakeClock) -> None:
    sender = RecordingSender({"+81900": SmsError("bad number", retryable=False, code=21211)})
    failed: list[SmsMessage] = []
    repo, dispatcher = setup(tmp_path, sender, clock, failed)
    repo.enqueue_sms(key="a", to="+81900", body="x", purpose=SmsPurpose.ALERT, urgent=True, now=clock.now())
    repo.enqueue_sms(key="b", to="+81900", body="y", purpose=SmsPurpose.REPLY, urgent=False, now=clock.now())
    assert await dispatcher.run_due() == 2
    assert [m.status for m in repo.sms_messages()] == [SmsStatus.FAILED, SmsStatus.FAILED]
    assert len(failed) == 1  # only alerts move an incident on


class BrokenOnceClock(FakeClock):
    def __init__(self) -> None:
        super().__init__(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
        self.broken = True

    def now(self) -> datetime:
        if self.broken:
            self.broken = False
            raise ValueError("clock unreadable")
        return super().now()


@pytest.mark.allow_error_logs
async def test_the_dispatcher_survives_an_unexpected_error(tmp_path: Path) -> None:
    clock = BrokenOnceClock()
    sender = RecordingSender()
    repo = EscalationRepository(tmp_path / "s.sqlite3")
    repo.open()
    settings = DispatchSettings(rate_per_s=1000.0, idle_check_s=0.01)
    dispatcher = SmsDispatcher(repo, [SmsNotifier(sender)], clock, settings, lambda *_: None)
    repo.enqueue_sms(key="a", to="+81900", body="still sent", purpose=SmsPurpose.ALERT, urgent=True,
                     now=datetime(2026, 11, 26, 9, 0, tzinfo=UTC))  # fmt: skip
    await dispatcher.start()
    try:
        await wait_for(lambda: dispatcher.attempts == 1, dispatcher.changed)
    finally:
        await dispatcher.stop()
    assert sender.sent == ["still sent"]
