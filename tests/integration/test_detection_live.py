"""The live detector over a real SQLite store: blind homes go to the technical path, never inactivity;
the APScheduler job is registered once, coalesced, one instance at a time."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from detection.episodes import SqliteEpisodes
from detection.findings import Audience, FindingKind
from detection.live import JOB_ID, LiveDetector, LiveSettings
from detection.model import FixedProfiles
from mimamori import contract
from mimamori.clock import FakeClock
from store.base import IngestBatch
from store.sqlite import SqliteEventStore

SEQ: defaultdict[str, Iterator[int]] = defaultdict(lambda: itertools.count(1))

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def reading(household: str, device: str, kind: contract.Kind, value: float, at: datetime) -> contract.Event:
    return contract.Event(
        message_id=contract.message_id_for(household, device, kind, value, at),
        household=household,
        gateway="gw-1",
        device=device,
        kind=kind,
        value=value,
        observed_at=at,
        seq=next(SEQ[household]),  # a gateway numbers its readings one by one
    )


def motion(household: str, at: datetime, device: str = "kitchen-motion") -> contract.Event:
    return reading(household, device, contract.Kind.MOTION, 1.0, at)


def test_gateway_offline_is_blind_not_inactivity(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "events.sqlite3")
    store.open()
    history = [motion("h1", NOW - timedelta(days=10) + timedelta(minutes=20 * k)) for k in range(720)]
    store.commit_batch(IngestBatch(received_at=NOW, events=history))
    store.commit_batch(
        IngestBatch(
            received_at=NOW,
            events=[motion("h1", NOW)],
            statuses=[contract.GatewayStatus("h1", "gw-1", contract.GatewayState.ONLINE, NOW)],
        )
    )
    clock = FakeClock(NOW + timedelta(minutes=1))
    detector = LiveDetector(store, FixedProfiles(), SqliteEpisodes(tmp_path / "state.sqlite3"), clock)
    detector.open()
    assert detector.tick(clock.now()) == []
    # the gateway's Last Will: offline from 01:05
    offline_at = NOW + timedelta(minutes=5)
    store.commit_batch(
        IngestBatch(
            received_at=offline_at,
            statuses=[contract.GatewayStatus("h1", "gw-1", contract.GatewayState.OFFLINE, offline_at)],
        )
    )
    found = []
    for minute in range(2, 24 * 60, 10):  # a whole day of silence
        clock.set(NOW + timedelta(minutes=minute))
        found += detector.tick(clock.now())
    assert [(f.kind, f.audience) for f in found] == [(FindingKind.BLIND_GATEWAY, Audience.TECHNICAL)]
    assert found[0].raised_at - offline_at <= timedelta(minutes=10 + 10 * 2)
    assert detector.classify("h1", clock.now()).value == "blind"
    detector.close()
    store.close()


def _offline_home(tmp_path: Path, offline_at: datetime) -> SqliteEventStore:
    """A regular home (motion every 20 min for 10 days), quiet since NOW, its gateway offline from
    ``offline_at``: the store as a detector finds it when it (re)starts later."""
    store = SqliteEventStore(tmp_path / "events.sqlite3")
    store.open()
    history = [motion("h1", NOW - timedelta(days=10) + timedelta(minutes=20 * k)) for k in range(720)]
    online = contract.GatewayStatus("h1", "gw-1", contract.GatewayState.ONLINE, NOW - timedelta(days=10))
    offline = contract.GatewayStatus("h1", "gw-1", contract.GatewayState.OFFLINE, offline_at)
    beat = contract.Heartbeat("h2", "gw-1", NOW + timedelta(hours=12), 1, 0)  # the platform itself is fine
    # ten lively neighbours, so h1 is not in the first slice the technical sweep looks at
    others = [
        motion(f"a{n}", NOW + timedelta(hours=11, minutes=k)) for n in range(10) for k in range(0, 60, 20)
    ]
    store.commit_batch(
        IngestBatch(received_at=NOW, events=[*history, *others, motion("h1", NOW)], statuses=[online])
    )
    # the Last Will arrives when the gateway dies (its own time says when it connected)
    store.commit_batch(IngestBatch(received_at=offline_at, statuses=[offline], heartbeats=[beat]))
    return store


def _ticks(detector: LiveDetector, clock: FakeClock, count: int) -> list[tuple[FindingKind, Audience]]:
    found = []
    for _ in range(count):
        found += [(f.kind, f.audience) for f in detector.tick(clock.now())]
        clock.advance(timedelta(minutes=1))
    return found


def test_a_home_offline_at_start_up_is_blind_not_inactive_and_judged_again_once_back(tmp_path: Path) -> None:
    store = _offline_home(tmp_path, offline_at=NOW + timedelta(minutes=30))
    clock = FakeClock(NOW + timedelta(hours=12))  # the detector (re)starts long after both
    detector = LiveDetector(store, FixedProfiles(), SqliteEpisodes(tmp_path / "state.sqlite3"), clock)
    detector.open()
    assert _ticks(detector, clock, 12) == [(FindingKind.BLIND_GATEWAY, Audience.TECHNICAL)]
    # Back online with nothing in its outbox: the stretch since NOW is real, and long overdue.
    online = contract.GatewayStatus("h1", "gw-1", contract.GatewayState.ONLINE, clock.now())
    beat = contract.Heartbeat("h2", "gw-1", clock.now(), 2, 0)
    store.commit_batch(IngestBatch(received_at=clock.now(), statuses=[online], heartbeats=[beat]))
    assert _ticks(detector, clock, 1) == [(FindingKind.INACTIVITY, Audience.COMMUNITY)]  # on the next tick
    detector.close()
    store.close()


def test_a_stretch_already_alarming_before_the_gateway_went_offline_still_raises(tmp_path: Path) -> None:
    store = _offline_home(tmp_path, offline_at=NOW + timedelta(hours=10))
    clock = FakeClock(NOW + timedelta(hours=12))
    detector = LiveDetector(store, FixedProfiles(), SqliteEpisodes(tmp_path / "state.sqlite3"), clock)
    detector.open()
    found = _ticks(detector, clock, 12)
    assert (FindingKind.INACTIVITY, Audience.COMMUNITY) in found  # seen while we could still see
    assert (FindingKind.BLIND_GATEWAY, Audience.TECHNICAL) in found
    detector.close()
    store.close()


def test_job_is_registered_once_with_a_stable_id(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "events.sqlite3")
    detector = LiveDetector(store, FixedProfiles(), SqliteEpisodes(tmp_path / "s.sqlite3"), FakeClock(NOW))
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start(paused=True)
    try:
        detector.schedule(scheduler)
        job = detector.schedule(scheduler)  # the service registering it again: replaced, not doubled
        assert [j.id for j in scheduler.get_jobs()] == [JOB_ID]
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 30)
        assert job.trigger.interval == timedelta(seconds=60)
    finally:
        scheduler.shutdown(wait=False)


def test_a_finding_raised_just_before_a_crash_is_handed_over_once_after_restart(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "events.sqlite3")
    store.open()
    history = [motion("h1", NOW - timedelta(days=10) + timedelta(minutes=20 * k)) for k in range(720)]
    store.commit_batch(IngestBatch(received_at=NOW, events=[*history, motion("h1", NOW)]))
    clock = FakeClock(NOW + timedelta(minutes=1))
    state = tmp_path / "state.sqlite3"
    first = LiveDetector(store, FixedProfiles(), SqliteEpisodes(state), clock)
    first.open()
    assert first.tick(clock.now()) == []
    clock.set(NOW + timedelta(hours=12))
    raised = first.tick(clock.now())
    assert [f.kind for f in raised] == [FindingKind.INACTIVITY]
    first.close()  # the process dies before its next tick: nobody acknowledged the finding
    second = LiveDetector(store, FixedProfiles(), SqliteEpisodes(state), clock)
    second.open()
    again = second.tick(clock.now() + timedelta(minutes=1))
    assert [(f.kind, f.episode) for f in again] == [(raised[0].kind, raised[0].episode)]
    assert second.tick(clock.now() + timedelta(minutes=2)) == []
    assert second.pending() == []
    second.close()
    store.close()


@pytest.mark.parametrize("installed_before_start", [True, False])
def test_help_button_press_is_raised_on_the_next_tick(tmp_path: Path, installed_before_start: bool) -> None:
    """Whether the detector has ever seen the button or not, and whichever slice of the device sweep
    the home is in (200 neighbours: it is not in the first ones), a press is raised on the next tick."""
    store = SqliteEventStore(tmp_path / "events.sqlite3")
    store.open()
    history = [motion("h1", NOW - timedelta(days=10) + timedelta(minutes=20 * k)) for k in range(720)]
    neighbours = [motion(f"a{n:03d}", NOW) for n in range(200)]
    earlier = (
        [reading("h1", "help-button", contract.Kind.CHECKIN, 0, NOW - timedelta(hours=5))]
        if installed_before_start
        else []
    )
    store.commit_batch(
        IngestBatch(received_at=NOW, events=[*neighbours, *history, *earlier, motion("h1", NOW)])
    )
    clock = FakeClock(NOW + timedelta(minutes=1))
    detector = LiveDetector(store, FixedProfiles(), SqliteEpisodes(tmp_path / "state.sqlite3"), clock)
    detector.open()
    assert detector.tick(clock.now()) == []
    pressed = NOW + timedelta(minutes=2)
    store.commit_batch(
        IngestBatch(
            received_at=pressed, events=[reading("h1", "help-button", contract.Kind.BUTTON, 1, pressed)]
        )
    )
    clock.set(NOW + timedelta(minutes=3))
    found = detector.tick(clock.now())
    assert [(f.household, f.kind, f.device, f.severity.value) for f in found] == [
        ("h1", FindingKind.HELP_BUTTON, "help-button", "urgent")
    ]
    clock.set(NOW + timedelta(minutes=4))
    assert detector.tick(clock.now()) == []
    # a second press later is a second call for help; the same press seen again is not
    again = NOW + timedelta(minutes=30)
    store.commit_batch(
        IngestBatch(received_at=again, events=[reading("h1", "help-button", contract.Kind.BUTTON, 1, again)])
    )
    clock.set(again + timedelta(minutes=1))
    assert [f.kind for f in detector.tick(clock.now())] == [FindingKind.HELP_BUTTON]
    clock.set(again + timedelta(minutes=2))
    assert detector.tick(clock.now()) == []
    detector.close()
    store.close()


def test_device_problems_are_found_by_the_round_robin_sweep_once_each(tmp_path: Path) -> None:
    """Among 40 lively homes (the sweep looks at a slice of them per tick): a low battery, a device
    unseen for a day in a home whose devices check in, and a sensor alone reporting for half a day
    (it may be stuck) each raise one technical finding within a round of the sweep, and nothing
    else is raised."""
    store = SqliteEventStore(tmp_path / "events.sqlite3")
    store.open()
    start = NOW - timedelta(days=10)
    homes = [f"a{n:02d}" for n in range(37)] + ["h-battery", "h-silent", "h-stuck"]
    history = [
        motion(h, start + timedelta(minutes=20 * k), device)
        for h in homes
        for k in range(720)
        for device in (("kitchen-motion", "hall-motion") if k % 3 else ("hall-motion",))
        if not (h == "h-stuck" and device == "kitchen-motion" and k > 700)
    ]
    history += [
        reading("h-battery", "hall-motion", contract.Kind.BATTERY, 9, NOW - timedelta(hours=1)),
        reading("h-silent", "toilet-motion", contract.Kind.CHECKIN, 0, NOW - timedelta(hours=30)),
    ]
    store.commit_batch(IngestBatch(received_at=NOW, events=history))
    clock = FakeClock(NOW)
    settings = LiveSettings(sweep_ticks=10)
    detector = LiveDetector(
        store, FixedProfiles(), SqliteEpisodes(tmp_path / "state.sqlite3"), clock, settings=settings
    )
    detector.open()
    raised: dict[tuple[str, FindingKind], list[datetime]] = {}
    for tick in range(6 * 14):  # every 10 minutes for 14 hours
        at = clock.now()
        news = [motion(h, at, "hall-motion") for h in homes]
        news += [motion(h, at, "kitchen-motion") for h in homes if h != "h-stuck" and tick % 2]
        news += [reading("h-silent", "hall-motion", contract.Kind.CHECKIN, 0, at + timedelta(seconds=1))]
        beats = [contract.Heartbeat(h, "gw-1", at, tick + 1, 0) for h in homes]
        store.commit_batch(IngestBatch(received_at=at, events=news, heartbeats=beats))
        for f in detector.tick(at):
            assert f.audience is Audience.TECHNICAL, f
            raised.setdefault((f.household, f.kind), []).append(f.raised_at)
        clock.advance(timedelta(minutes=10))
    assert sorted(raised) == [
        ("h-battery", FindingKind.LOW_BATTERY),
        ("h-silent", FindingKind.DEVICE_SILENT),
        ("h-stuck", FindingKind.STUCK_SENSOR),
    ]
    assert all(len(times) == 1 for times in raised.values())
    sweep_round = timedelta(minutes=10 * settings.sweep_ticks)
    assert raised["h-battery", FindingKind.LOW_BATTERY][0] - NOW < sweep_round
    assert raised["h-silent", FindingKind.DEVICE_SILENT][0] - NOW < sweep_round
    alone_from = NOW  # the detector starts watching at NOW: its kitchen sensor fell silent before
    stuck_at = raised["h-stuck", FindingKind.STUCK_SENSOR][0] - alone_from
    assert timedelta(hours=12) <= stuck_at < timedelta(hours=12) + sweep_round
    detector.close()
    store.close()


@pytest.mark.allow_error_logs  # detection.paused is logged at ERROR: someone must look
def test_while_no_gateway_is_heard_nobody_is_judged_but_a_press_still_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No heartbeat from any gateway for 15 min means ingest or the broker is down: silence proves
    nothing, so no inactivity is raised (ERROR detection.paused) and every home reads blind. A
    help-button press that does get through is still raised; once heartbeats return, judging resumes."""
    store = SqliteEventStore(tmp_path / "events.sqlite3")
    store.open()
    history = [motion("h1", NOW - timedelta(days=10) + timedelta(minutes=20 * k)) for k in range(720)]
    beat = contract.Heartbeat("h1", "gw-1", NOW, 1, 0)
    store.commit_batch(IngestBatch(received_at=NOW, events=history, heartbeats=[beat]))
    clock = FakeClock(NOW)
    detector = LiveDetector(store, FixedProfiles(), SqliteEpisodes(tmp_path / "state.sqlite3"), clock)
    detector.open()
    found = []
    for _ in range(12 * 6):  # twelve silent hours, a tick every ten minutes
        found += detector.tick(clock.now())
        clock.advance(timedelta(minutes=10))
    assert found == []
    assert "detection.paused" in caplog.text
    assert detector.classify("h1", clock.now()).value == "blind"
    pressed = clock.now()
    store.commit_batch(
        IngestBatch(
            received_at=pressed, events=[reading("h1", "help-button", contract.Kind.BUTTON, 1, pressed)]
        )
    )
    clock.advance(timedelta(minutes=1))
    assert [f.kind for f in detector.tick(clock.now())] == [FindingKind.HELP_BUTTON]
    beat = contract.Heartbeat("h1", "gw-1", clock.now(), 2, 0)
    store.commit_batch(IngestBatch(received_at=clock.now(), heartbeats=[beat]))
    clock.advance(timedelta(minutes=1))
    assert detector.tick(clock.now()) == []  # the press just now is the newest activity: not quiet
    assert detector.classify("h1", clock.now()).value == "active"
    assert "detection.resumed" in caplog.text
    detector.close()
    store.close()


def test_readings_lost_before_the_store_reach_the_technical_path_once(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "events.sqlite3")
    store.open()
    beats = [contract.Heartbeat("h1", "gw-1", NOW, 1, 0)]
    first = [reading("h1", "kitchen-motion", contract.Kind.MOTION, 1.0, NOW)]
    store.commit_batch(IngestBatch(received_at=NOW, events=[replace(first[0], seq=1)], heartbeats=beats))
    later = replace(motion("h1", NOW + timedelta(minutes=1)), seq=5)  # 2-4 never arrive
    store.commit_batch(IngestBatch(received_at=NOW, events=[later]))
    clock = FakeClock(NOW + timedelta(minutes=10))
    detector = LiveDetector(store, FixedProfiles(), SqliteEpisodes(tmp_path / "state.sqlite3"), clock)
    detector.open()
    assert [f.kind for f in detector.tick(clock.now())] == []  # a backlog may still be draining
    clock.advance(timedelta(minutes=25))
    beat = contract.Heartbeat("h1", "gw-1", clock.now(), 2, 0)
    store.commit_batch(IngestBatch(received_at=clock.now(), heartbeats=[beat]))
    gaps = [f for f in detector.tick(clock.now()) if f.kind is FindingKind.DATA_GAP]
    assert [(f.household, f.device, f.audience) for f in gaps] == [("h1", "gw-1", Audience.TECHNICAL)]
    assert gaps[0].explanation.params["missing"] == 3
    clock.advance(timedelta(minutes=5))
    store.commit_batch(IngestBatch(received_at=clock.now(), heartbeats=[replace(beat, at=clock.now())]))
    assert [f for f in detector.tick(clock.now()) if f.kind is FindingKind.DATA_GAP] == []  # once
    detector.close()
    store.close()
