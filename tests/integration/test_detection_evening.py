"""The evening check on the live path: its switch read from the real alerts state file, the evening and
the rooms learned from a real SQLite store, the finding raised by the ticking detector where the check
is on: by itself (``auto``, a kitchen sensor cannot see the evening) or switched on, never where off."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from detection.episodes import SqliteEpisodes
from detection.findings import Audience, FindingKind
from detection.live import LiveDetector
from detection.profiles import StateProfiles
from escalation.repository import EscalationRepository
from mimamori import contract
from mimamori.clock import FakeClock
from registry.models import Household, Switch
from store.base import IngestBatch
from store.sqlite import SqliteEventStore
from tests.support.detect_routine import TZ, sparse_routine, when

SEQ: defaultdict[str, Iterator[int]] = defaultdict(lambda: itertools.count(1))

DAYS = 14
HOMES = ("auto", "on", "off")


def motion(household: str, t: float) -> contract.Event:
    at = datetime.fromtimestamp(t, UTC)
    return contract.Event(
        message_id=contract.message_id_for(household, "kitchen-motion", contract.Kind.MOTION, 1.0, at),
        household=household,
        gateway=f"gw-{household}",
        device="kitchen-motion",
        kind=contract.Kind.MOTION,
        value=1.0,
        observed_at=at,
        seq=next(SEQ[household]),  # a gateway numbers its readings one by one
    )


def test_an_evening_collapse_is_raised_at_night_where_the_check_is_on(tmp_path: Path) -> None:
    repo = EscalationRepository(tmp_path / "alerts.sqlite3")
    repo.open()
    repo.upsert_household(Household("auto", "田中ハル", "", TZ))
    repo.upsert_household(Household("on", "山田花子", "", TZ, evening_check=Switch.ON))
    repo.upsert_household(Household("off", "佐藤トメ", "", TZ, evening_check=Switch.OFF))
    store = SqliteEventStore(tmp_path / "events.sqlite3")
    store.open()
    # two weeks of a kit that cannot see the evening; on the last day both residents fall after 19:00
    collapse = when(DAYS - 1, "19:00")
    history = [motion(h, t) for h in HOMES for t in sparse_routine(DAYS) if t <= collapse]
    start = datetime.fromtimestamp(collapse, UTC) + timedelta(minutes=1)
    store.commit_batch(IngestBatch(received_at=start, events=history))
    clock = FakeClock(start)
    detector = LiveDetector(
        store, StateProfiles(repo, clock), SqliteEpisodes(tmp_path / "alerts.sqlite3"), clock
    )
    detector.open()
    raised: list[tuple[str, FindingKind, Audience, datetime]] = []
    until = datetime.fromtimestamp(when(DAYS - 1, "d+1 05:00"), UTC)
    while clock.now() < until:
        # the gateways stay up all night: silence is the residents', not the platform's
        beats = [contract.Heartbeat(h, f"gw-{h}", clock.now(), 1, 0) for h in HOMES]
        store.commit_batch(IngestBatch(received_at=clock.now(), heartbeats=beats))
        raised += [(f.household, f.kind, f.audience, f.raised_at) for f in detector.tick(clock.now())]
        clock.advance(timedelta(minutes=5))
    due = datetime.fromtimestamp(when(DAYS - 1, "d+1 00:35"), UTC)  # 19:00 + the longest evening quiet + 35
    assert sorted((h, k, a) for h, k, a, _ in raised) == [
        ("auto", FindingKind.EVENING_QUIET, Audience.COMMUNITY),
        ("on", FindingKind.EVENING_QUIET, Audience.COMMUNITY),
    ]
    for *_, at in raised:
        assert timedelta(0) <= at - due < timedelta(minutes=5)  # on the first tick at the deadline
    assert detector.classify("on", clock.now()).value == "quiet"
    assert detector.classify("off", clock.now()).value == "active"  # judged in the morning
    detector.close()
    store.close()
    repo.close()
