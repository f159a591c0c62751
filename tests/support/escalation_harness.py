"""Building blocks for escalation tests: a configured alerts service against the local Twilio server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from detection.findings import Explanation, Finding, FindingKind, Severity
from escalation.repository import EscalationRepository
from escalation.service import AlertsService, webhook_token
from mimamori.clock import FakeClock
from mimamori.config import Config
from registry.households_import import import_data, read_file
from tests.conftest import FIXED_NOW
from tests.support.harness import wait_for
from tests.support.line_fake_server import ACCESS_TOKEN as LINE_TOKEN
from tests.support.line_fake_server import CHANNEL_SECRET as LINE_SECRET
from tests.support.twilio_fake_server import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, post_signed

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "households.example.yaml"
# The example's contacts (docs/households.example.yaml): neighbours, volunteers, the care centre.
SUZUKI, KATO, ITO, BROWN, CENTER = (
    "+819000000011",
    "+819000000012",
    "+819000000021",
    "+819000000022",
    "+819000000031",
)
SENDER = "+815000000000"
OPERATOR = "+819099990000"


def alerts_config(tmp: Path, twilio_url: str | None, *, line_url: str | None = None, **alerts: Any) -> Config:
    section = {
        "state_path": str(tmp / "state.sqlite3"),
        "http_port": 0,
        "public_url": "",
        "sms_backend": "twilio" if twilio_url else "outbox",
        "sweep_s": 0.05,
        "operators": [OPERATOR],
        **alerts,
    }
    data: dict[str, Any] = {
        "data_dir": str(tmp),
        "alerts": section,
        "twilio": {
            "from_number": SENDER,
            "api_base_url": twilio_url or "https://api.twilio.com",
            "timeout_s": 0.5,
            "rate_per_s": 1000.0,
            "backoff_base_s": 5.0,
            "backoff_max_s": 60.0,
        },
        "secrets": {
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN,
            "link_secret": "test-link-secret",
            "line_channel_access_token": LINE_TOKEN,
            "line_channel_secret": LINE_SECRET,
        },
    }
    if line_url is not None:  # LINE through the real line-bot-sdk against tests/support/line_fake_server.py
        data["line"] = {"enabled": True, "api_base_url": line_url, "timeout_s": 0.5}
    return Config.model_validate(data)


def import_households(config: Config, data: dict[str, Any] | None = None) -> None:
    repo = EscalationRepository(config.alerts.state_path)
    repo.open()
    report = import_data(repo, data if data is not None else read_file(EXAMPLE), FIXED_NOW)
    repo.close()
    assert report.rejected == [], report.rejected


def finding(
    household: str = "demo-0001",
    kind: FindingKind = FindingKind.INACTIVITY,
    severity: Severity = Severity.URGENT,
    at: datetime = FIXED_NOW,
) -> Finding:
    return Finding(
        household=household,
        kind=kind,
        severity=severity,
        raised_at=at,
        episode=f"{household}:{kind.value}:{at.isoformat()}",
        last_activity_at=at - timedelta(hours=3),
        explanation=Explanation("inactivity", {"since": "07:10"}),
    )


@contextlib.asynccontextmanager
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    server = FakeTwilio()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def running_alerts(config: Config, clock: FakeClock) -> AsyncIterator[AlertsService]:
    service = AlertsService(config, clock)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


async def until(server: FakeTwilio, predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Wait until ``predicate()`` holds, re-checked on every request the Twilio server records."""
    await wait_for(predicate, server.changed, timeout_s)


async def reply(service: AlertsService, config: Config, phone: str, text: str, sid: str) -> int:
    """What Twilio does when a phone answers: a signed POST to the inbound webhook."""
    form = {"From": phone, "To": SENDER, "Body": text, "MessageSid": sid, "AccountSid": ACCOUNT_SID}
    return await post_signed(f"{service.public_url}/twilio/sms", form, webhook_token(config))
