"""Real stores for dashboard integration and browser tests: an events SQLite file written through the
store's own batch writer, the registry and escalation repository, and dashboard accounts."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dashboard.app import create_app
from dashboard.care_records import StateCareRecords
from dashboard.states import PersistedStates
from dashboard.users import StaffRole, UserStore
from dashboard.views import ActivitySource
from detection.findings import Audience, FindingKind, Severity
from escalation.models import (
    Incident,
    IncidentState,
    PolicySnapshot,
    SmsPurpose,
    SnapshotContact,
    StepKind,
    Wave,
)
from escalation.repository import EscalationRepository
from mimamori.clock import FakeClock
from mimamori.config import DashboardConfig
from mimamori.contract import Event, GatewayState, GatewayStatus, Kind, message_id_for
from registry.households_import import import_data
from registry.models import ContactRole as ContactRole
from registry.models import Language, TierKind
from store.base import IngestBatch
from store.sqlite import SqliteEventStore
from tests.support.dashboard_fakes import ADMIN_TOTP_SECRET, FAST_HASHER, PASSWORD

TOKYO = ZoneInfo("Asia/Tokyo")
OWN = "hh-own"
OTHER = "hh-other"


@dataclass(frozen=True, slots=True)
class RealPaths:
    events: Path
    state: Path
    users: Path

    def config_toml(self, port: int) -> str:
        return (
            f'time_zone = "Asia/Tokyo"\n[store]\nsqlite_path = "{self.events}"\n'
            f'[alerts]\nstate_path = "{self.state}"\n'
            f'[dashboard]\nhost = "127.0.0.1"\nport = {port}\nusers_path = "{self.users}"\n'
            'default_language = "en"\n'
        )


def routine_events(household: str, now: datetime, days: int, seed: int) -> list[Event]:
    """A plausible daily routine in Tokyo time: up around 07:00, moving about, a walk, bed around 22:00."""
    rng = random.Random(seed)
    events: list[Event] = []
    today = now.astimezone(TOKYO).date()
    for back in range(days, -1, -1):
        day = today - timedelta(days=back)
        start = datetime(day.year, day.month, day.day, 6, 30, tzinfo=TOKYO) + timedelta(
            minutes=rng.randint(0, 60)
        )
        bed = datetime(day.year, day.month, day.day, 21, 30, tzinfo=TOKYO) + timedelta(
            minutes=rng.randint(0, 75)
        )
        at = start
        while at < bed and at < now:
            device, kind, value = rng.choice(
                [
                    ("motion-living", Kind.MOTION, 1.0),
                    ("motion-kitchen", Kind.MOTION, 1.0),
                    ("door-main", Kind.DOOR, 1.0),
                ]
            )
            events.append(_event(household, device, kind, value, at, len(events)))
            at += timedelta(minutes=rng.randint(10, 50))
        if at < now:
            events.append(_event(household, "motion-bedroom", Kind.MOTION, 1.0, bed, len(events)))
    events.append(
        _event(household, "motion-living", Kind.BATTERY, 12.0, now - timedelta(minutes=5), len(events))
    )
    return events


def _event(household: str, device: str, kind: Kind, value: float, at: datetime, seq: int) -> Event:
    at = at.astimezone(ZoneInfo("UTC"))
    return Event(
        message_id_for(household, device, kind, value, at),
        household,
        "gw-1",
        device,
        kind,
        value,
        at,
        seq + 1,
    )


HOUSEHOLDS = {
    "contacts": [
        {"id": "c-kato", "name": "加藤 Kato", "phone": "+819011112222", "role": "neighbour"},
        {"id": "c-mori", "name": "森 Mori", "phone": "+819033334444", "role": "volunteer"},
        {"id": "c-clinic", "name": "Clinic", "phone": "+81355556666", "role": "professional"},
        {"id": "c-suzuki", "name": "鈴木 Suzuki", "phone": "+819077778888", "role": "neighbour"},
    ],
    "households": [
        {
            "id": OWN,
            "name": "田中 花子",
            "address_hint": "桜町2-5",
            "policy": {
                "tiers": [
                    {"kind": "neighbours", "contacts": ["c-kato"], "wait_minutes": 20},
                    {"kind": "volunteers", "contacts": ["c-mori"], "mode": "one_by_one", "wait_minutes": 30},
                    {"kind": "professionals", "contacts": ["c-clinic"], "wait_minutes": 30},
                ]
            },
        },
        {
            "id": OTHER,
            "name": "鈴木 太郎",
            "address_hint": "梅町1-1",
            "policy": {"tiers": [{"kind": "neighbours", "contacts": ["c-suzuki"], "wait_minutes": 20}]},
        },
    ],
}


def seed_real(directory: Path, now: datetime) -> RealPaths:
    paths = RealPaths(
        directory / "events.sqlite3", directory / "state.sqlite3", directory / "dashboard.sqlite3"
    )
    store = SqliteEventStore(paths.events)
    store.open()
    try:
        for index, household in enumerate((OWN, OTHER)):
            store.commit_batch(
                IngestBatch(
                    received_at=now,
                    events=routine_events(household, now, 90, index),
                    statuses=[
                        GatewayStatus(household, "gw-1", GatewayState.ONLINE, now - timedelta(days=91))
                    ],
                )
            )
    finally:
        store.close()
    repo = EscalationRepository(paths.state)
    repo.open()
    try:
        report = import_data(repo, HOUSEHOLDS, now)
        assert not report.rejected, report.rejected
        _incident(repo, now)
    finally:
        repo.close()
    users = UserStore(paths.users, FAST_HASHER)
    users.open()
    try:
        users.add_user("alice", "Alice Sato", StaffRole.CARE_MANAGER, PASSWORD, language="en", now=now)
        users.add_user("root", "Admin", StaffRole.ADMIN, PASSWORD, language="en", now=now)
        users.enrol_second_factor("root", ADMIN_TOTP_SECRET, 0, [], now)
        users.assign("alice", OWN)
    finally:
        users.close()
    return paths


def _incident(repo: EscalationRepository, now: datetime) -> None:
    opened = now - timedelta(hours=3)
    kato = SnapshotContact("c-kato", "加藤 Kato", "+819011112222", ContactRole.NEIGHBOUR, Language.JA)
    mori = SnapshotContact("c-mori", "森 Mori", "+819033334444", ContactRole.VOLUNTEER, Language.JA)
    incident = Incident(
        id="inc-1",
        household=OWN,
        kind=FindingKind.INACTIVITY,
        severity=Severity.URGENT,
        audience=Audience.COMMUNITY,
        state=IncidentState.CLAIMED,
        opened_at=opened,
        updated_at=opened + timedelta(minutes=24),
        episode="ep-1",
        explanation_key="inactivity",
        explanation_params={"since": "07:10", "quiet_h": 3, "usual_h": 2, "days": 21},
        last_activity_at=opened - timedelta(hours=2),
        snapshot=PolicySnapshot(
            waves=(
                Wave(0, TierKind.NEIGHBOURS, (kato,), 20),
                Wave(1, TierKind.VOLUNTEERS, (mori,), 30),
            ),
            claim_timeout_minutes=45,
            quiet_hours=None,
            time_zone="Asia/Tokyo",
        ),
        wave_index=2,
        claimed_by="c-mori",
        claimed_at=opened + timedelta(minutes=24),
    )
    repo.insert_incident(incident)
    repo.add_step("inc-1", StepKind.OPENED, opened)
    repo.add_step("inc-1", StepKind.NOTIFIED, opened, wave_index=0, contact="c-kato")
    repo.enqueue_sms(
        key="inc-1/0/c-kato/alert",
        to="+819011112222",
        body="見守り: 田中さん宅 07:10から活動なし",
        purpose=SmsPurpose.ALERT,
        urgent=True,
        now=opened,
        incident="inc-1",
        contact="c-kato",
    )
    repo.add_step("inc-1", StepKind.NOTIFIED, opened + timedelta(minutes=20), wave_index=1, contact="c-mori")
    repo.audit(
        opened + timedelta(minutes=24),
        "contact:c-mori",
        "reply",
        household=OWN,
        incident="inc-1",
        detail={"text": "1", "meaning": "claim"},
    )
    repo.add_step(
        "inc-1", StepKind.CLAIMED, opened + timedelta(minutes=24), contact="c-mori", detail="行きます"
    )


Client = TestClient[web.Request, web.Application]


def dashboard_over(
    repo: EscalationRepository, users: UserStore, activity: ActivitySource, clock: FakeClock
) -> web.Application:
    """The dashboard app (English by default) over the state file, the accounts and ``activity``."""
    return create_app(
        DashboardConfig(default_language="en"),
        users=users,
        activity=activity,
        records=StateCareRecords(repo),
        classify=PersistedStates(repo),
        clock=clock,
    )


async def cookie_client(aiohttp_client: Any, server: TestServer) -> Client:
    """A client of ``server`` that keeps the session's secure cookies over plain http on localhost."""
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[f"http://{server.host}:{server.port}"])
    client: Client = await aiohttp_client(server, cookie_jar=jar)
    return client


@dataclass(frozen=True, slots=True)
class RealDashboard:
    server: TestServer
    repo: EscalationRepository
    users: UserStore


@asynccontextmanager
async def real_dashboard(
    directory: Path, clock: FakeClock, aiohttp_server: Any
) -> AsyncIterator[RealDashboard]:
    """The dashboard served over the stores :func:`seed_real` writes in ``directory``, open meanwhile."""
    paths = seed_real(directory, clock.now())
    users = UserStore(paths.users, FAST_HASHER)
    users.open()
    events = SqliteEventStore(paths.events)
    events.open()
    repo = EscalationRepository(paths.state)
    repo.open()
    try:
        server = await aiohttp_server(dashboard_over(repo, users, events, clock))
        yield RealDashboard(server, repo, users)
    finally:
        repo.close()
        events.close()
        users.close()
