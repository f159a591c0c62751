"""The demo's default day, judged: what the suite's day test checks (up to the evening digests) and
``benchmarks/demo_day.py`` checks over the whole day."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

from app.demo_town import HEAT_INDEX, neighbour_phone, phone
from escalation.repository import EscalationRepository

FALL_HOME = "home-0003"  # the demo's fall (the third home)
HEAT_HOME = "home-0004"  # the demo's heater left on high (the fourth)
OUTAGE_HOME = "home-0007"  # the demo's internet outage (the seventh)
SCRIPTED_INCIDENTS = [
    (FALL_HOME, "inactivity", "community"),
    (HEAT_HOME, "heat", "community"),
    (HEAT_HOME, "heat_shock", "care_manager"),  # the heated living room, the cold bathroom: advice
    (OUTAGE_HOME, "blind_gateway", "technical"),
]


def check_scripted_day(lines: list[str], workdir: Path) -> None:
    """The default town's day, as ``mimamori demo`` in ``workdir`` printed ``lines`` and left its state
    file: the scripted events announced in order, no incident before the first of them, exactly the
    scripted incidents, the hot room's resident texted before her neighbour, the families' digests."""
    announced = [n for n, line in enumerate(lines) if "(scripted" in line and line.startswith("[")]
    assert [lines[n].split("] ")[1].split(":")[0] for n in announced] == [
        FALL_HOME,
        HEAT_HOME,
        OUTAGE_HOME,
    ], lines
    incident_lines = [n for n, line in enumerate(lines) if " incident " in line]
    assert incident_lines, lines
    early = [lines[n] for n in incident_lines if n < announced[0]]
    assert not early, f"incidents opened before the first scripted event: {early}"

    repo = EscalationRepository(workdir / "var" / "mimamori-state.sqlite3")
    repo.open()
    try:
        incidents = repo.incidents(limit=1000)
        digests = {m.contact: m for m in repo.sms_messages(limit=5000) if m.purpose.value == "digest"}
    finally:
        repo.close()
    found = sorted((i.household, i.kind.value, i.audience.value) for i in incidents)
    assert found == SCRIPTED_INCIDENTS, found
    # the hot living room: its resident is told first what to do, then (still hot) her neighbours
    resident = [
        n
        for n, line in enumerate(lines)
        if re.search(rf"sms to {re.escape(phone(2000 + HEAT_INDEX))}: .*暖房を弱めて", line)
    ]
    neighbour = [
        n
        for n, line in enumerate(lines)
        if re.search(rf"sms to {re.escape(neighbour_phone(HEAT_INDEX, 0))}: .*様子を見に行けますか", line)
    ]
    assert resident, lines
    assert neighbour, lines
    assert resident[0] < neighbour[0]
    # at 19:00 the families' digests: the fallen resident's son gets the factual note (by SMS), the
    # day-service home's daughter abroad her normal day (by e-mail, in English)
    assert set(digests) == {"f-son", "f-daughter"}, digests
    assert "見守り連絡(動きなし)" in digests["f-son"].body
    assert digests["f-son"].created_at.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M") >= "19:00"
    assert digests["f-daughter"].channel.value == "email"
    assert digests["f-daughter"].body.startswith("Mimamori: ")
