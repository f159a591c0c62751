"""Heat-alert days: the CSV file an operator keeps, areas of households, the file read again when replaced."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from detection.climate_live import ClimateDetector
from detection.findings import FindingKind
from detection.heat_alerts import HeatAlertDays, parse_alert_days
from detection.model import FixedProfiles
from detection.rooms import RoomMap
from mimamori.contract import Event, Kind, message_id_for
from store.base import IngestBatch
from store.sqlite import SqliteEventStore

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "heat_alert_days.csv"
NOON = datetime(2026, 8, 5, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
DEVICE = "living-temp"
AREAS = {"h-tokyo": "", "h-tama": "tama", "h-yokohama": "14"}


def test_the_sample_file_is_read_and_bad_rows_are_counted() -> None:
    read = parse_alert_days(SAMPLE.read_text(encoding="utf-8"))
    assert read.days == {
        (date(2026, 8, 4), "13"),
        (date(2026, 8, 5), "13"),
        (date(2026, 8, 5), "14"),
        (date(2026, 8, 6), "tama"),
    }
    assert read.rejected == 2  # a date that is not one, a row without an area


def test_a_household_takes_its_own_area_when_the_file_names_it_else_the_deployments() -> None:
    alerts = HeatAlertDays(SAMPLE, AREAS.__getitem__, default_area="13")
    alerts.refresh()
    assert alerts.alert_day("h-tokyo", date(2026, 8, 4))  # no area of its own: the deployment's "13"
    assert not alerts.alert_day("h-tokyo", date(2026, 8, 6))
    assert alerts.alert_day("h-tama", date(2026, 8, 6))
    assert not alerts.alert_day("h-tama", date(2026, 8, 4))  # its own area had no alert that day
    assert alerts.alert_day("h-yokohama", date(2026, 8, 5))
    assert not alerts.alert_day("h-yokohama", date(2026, 8, 4))


def test_no_default_area_no_alert_and_a_missing_file_is_not_a_crash(tmp_path: Path) -> None:
    assert not HeatAlertDays(SAMPLE, AREAS.__getitem__).alert_day("h-tokyo", date(2026, 8, 4))
    missing = HeatAlertDays(tmp_path / "none.csv", AREAS.__getitem__, default_area="13")
    missing.refresh()
    assert not missing.alert_day("h-tokyo", date(2026, 8, 4))


def test_the_file_is_read_again_when_a_scheduled_job_replaces_it(tmp_path: Path) -> None:
    path = tmp_path / "alerts.csv"
    path.write_text("date,area\n2026-08-04,13\n", encoding="utf-8")
    alerts = HeatAlertDays(path, AREAS.__getitem__, default_area="13")
    alerts.refresh()
    assert not alerts.alert_day("h-tokyo", date(2026, 8, 5))
    path.write_text("date,area\n2026-08-04,13\n2026-08-05,13\n", encoding="utf-8")
    os.utime(path, (1_800_000_000, 1_800_000_000))  # a new modification time, whatever the clock
    alerts.refresh()
    assert alerts.alert_day("h-tokyo", date(2026, 8, 5))


def hot_afternoon(tmp_path: Path, alert_day: str) -> list[int]:
    """A living room at 厳重警戒 from noon, ticked every 5 minutes through the live climate detector on
    a real SQLite store; returns the minutes after noon at which a heat finding came."""
    store = SqliteEventStore(tmp_path / "events.sqlite3")
    store.open()
    path = tmp_path / "alerts.csv"
    path.write_text(f"date,area\n{alert_day},13\n", encoding="utf-8")
    alerts = HeatAlertDays(path, lambda household: "", default_area="13")
    detector = ClimateDetector(store, store.devices_of, FixedProfiles(), RoomMap(), heat_alerts=alerts)
    raised: list[int] = []
    for seq in range(30):
        at = NOON + timedelta(minutes=5 * seq)
        events = [
            Event(
                message_id_for("h1", "living-temp", k, v, at),
                "h1",
                "gw",
                "living-temp",
                k,
                v,
                at,
                2 * seq + i,
            )
            for i, (k, v) in enumerate(((Kind.HUMIDITY, 65.0), (Kind.TEMPERATURE, 33.0)))
        ]
        store.commit_batch(IngestBatch(at, events=events))
        raised += [5 * seq for f in detector.tick(at, lambda household: True) if f.kind is FindingKind.HEAT]
    store.close()
    return raised


def test_the_live_watch_raises_sooner_on_an_alert_day(tmp_path: Path) -> None:
    assert hot_afternoon(tmp_path / "alert", "2026-08-05")[0] == 60
    assert hot_afternoon(tmp_path / "none", "2026-08-04")[0] == 120
