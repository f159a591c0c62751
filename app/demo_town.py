"""The demo's town: simulated homes and their day's script, the households with their community, and
the dashboard's demo accounts.

Everything here is made up (names, addresses, phone numbers in the +81 90-0000 range); the shape is
what `mimamori households import` reads, so the demo registers homes exactly as an operator would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from dashboard.users import StaffRole, UserStore
from firmware_sim.homes import HouseholdSpec, SimHome
from firmware_sim.scenarios import Scenario, ScenarioKind
from firmware_sim.simulate import build_homes
from mimamori.clock import ScaledClock
from registry.models import DEFAULT_ORGANISATION

SURNAMES: Final = ("山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村", "小林", "加藤")
GIVEN: Final = ("花子", "トメ", "正夫", "久子", "茂", "キヨ", "清", "和子", "勇", "フミ")
STREETS: Final = ("桜町", "梅ヶ丘", "本町", "川端", "松原")

# The simulation draws each resident's day from its date: one fixed day makes every run the same day,
# the one the whole-day test checks (a Thursday; another --date is another day, with what it brings).
DEMO_DAY = date(2026, 12, 3)
LIVE_FROM = time(6, 0)
FALL_AT = time(9, 40)
OUTAGE_AT = time(13, 0)
OUTAGE = timedelta(hours=2)

OPERATOR_PHONE: Final = "+819000009999"
FALL_INDEX: Final = 2  # the fall happens in the third home; its resident is on a landline (voice)
LINE_VOLUNTEER: Final = "v-1"  # on LINE first, then SMS (linked at registration: see LINE_USER)
LINE_USER: Final = "U" + "d" * 32  # the demo's made-up LINE user id of that volunteer
DEMO_USERS: Final = ("care1", "care2", "admin")
# The community (docs/demo.md, *The town*): two organisations share the deployment (the first half of
# the homes is the 地域包括支援センター's, the second half the resident network's), the volunteers are
# pooled by both, the fallen resident's son is her family contact, and one home has a day service.
ORGANISATIONS: Final = (("hokatsu", "地域包括支援センター"), ("kirari", "きらりよしじまネットワーク"))
FAMILY: Final = "f-son"  # the fallen resident's son: told when her incident opens and closes; a digest
FAMILY_ABROAD: Final = "f-daughter"  # the day-service home's daughter abroad: an English e-mail digest
CALENDAR_INDEX: Final = 1  # the second home goes to a day service (not on the demo's Thursday)
HEAT_INDEX: Final = 3  # the fourth home has room thermometers; its kerosene heater is left on high
HEATER_ON: Final = time(11, 0)
HEATER_OFF: Final = time(17, 0)
HEAT_RESIDENT_WAIT_MIN: Final = 20  # the resident is texted first; still hot after this: the neighbours
DAY_SERVICE: Final = {
    "label": "デイサービス",
    "weekly": ["mon", "wed", "fri"],
    "start": "09:00",
    "end": "16:00",
}


def phone(number: int) -> str:
    return f"+8190000{number:05d}"


def family_phone() -> str:
    """The phone of the fallen resident's son (her family contact)."""
    return phone(3000 + FALL_INDEX)


def neighbour_phone(home_index: int, which: int) -> str:
    """The phone of neighbour ``which`` (0 or 1) of the ``home_index``-th home (from 0)."""
    return phone(1000 + home_index * 10 + which)


def town_data(
    households: Sequence[str], time_zone: str, evening_check: Collection[str] = ()
) -> dict[str, Any]:
    """Households, contacts and escalation policies in the `households import` shape.

    ``evening_check``: the homes whose kit cannot see the evening, the evening check switched on for
    them (``auto``, the default, would turn it on by itself once their history shows it).
    """
    volunteers: list[dict[str, Any]] = [
        {"id": f"v-{n}", "name": f"ボランティア{n}", "phone": phone(500 + n), "role": "volunteer"}
        for n in range(1, 5)
    ]
    volunteers[3].update(name="Emma Brown", language="en")
    volunteers[0].update(channels=["line", "sms"])
    for volunteer in volunteers:  # one pool shared by both organisations
        volunteer["pools"] = [org for org, _ in ORGANISATIONS]
    contacts: list[dict[str, Any]] = [
        *volunteers,
        {"id": "p-center", "name": "地域包括支援センター", "phone": phone(900), "role": "professional"},
        {"id": "t-tech", "name": "技術担当 高橋", "phone": phone(950), "role": "technical"},
        {"id": FAMILY, "name": "長男", "phone": family_phone(), "role": "family"},
        {
            "id": FAMILY_ABROAD,
            "name": "Mary",
            "phone": phone(3001),
            "role": "family",
            "language": "en",
            "email": "mary@example.org",
            "channels": ["email"],
        },
    ]
    half = (len(households) + 1) // 2  # as the care managers share them (add_demo_accounts)
    homes = []
    for index, household in enumerate(households):
        name = f"{SURNAMES[index % 10]}{GIVEN[(index * 3) % 10]}"
        neighbours = []
        for which in (0, 1):
            contact_id = f"n-{household}-{which + 1}"
            neighbours.append(contact_id)
            contacts.append(
                {
                    "id": contact_id,
                    "name": f"{SURNAMES[(index + which + 3) % 10]}(近所)",
                    "phone": neighbour_phone(index, which),
                    "role": "neighbour",
                }
            )
        tiers: list[dict[str, Any]] = [
            {"kind": "neighbours", "contacts": neighbours, "mode": "all", "wait_minutes": 20},
            {
                "kind": "volunteers",
                "contacts": [v["id"] for v in volunteers],
                "mode": "one_by_one",
                "wait_minutes": 20,
            },
            {"kind": "professionals", "contacts": ["p-center"], "mode": "all", "wait_minutes": 30},
        ]
        resident = f"r-{household}"
        if index != FALL_INDEX:  # on a mobile: texted by a disaster check (`mimamori disaster-check start`)
            contacts.append({"id": resident, "name": name, "phone": phone(2000 + index), "role": "resident"})
        if index == HEAT_INDEX:  # room sensors: a hot room is told to the resident first (docs/climate.md)
            tiers.insert(
                0,
                {
                    "kind": "resident_check",
                    "contacts": [resident],
                    "mode": "all",
                    "wait_minutes": HEAT_RESIDENT_WAIT_MIN,
                },
            )
        if index == FALL_INDEX:  # a call first: "are you all right? 1 fine, 9 help" (no answer: neighbours)
            contacts.append(
                {
                    "id": resident,
                    "name": name,
                    "phone": phone(2000 + index),
                    "role": "resident",
                    "channels": ["voice"],
                }
            )
            tiers.insert(
                0, {"kind": "resident_check", "contacts": [resident], "mode": "all", "wait_minutes": 5}
            )
        community: dict[str, Any] = {
            "organisation": ORGANISATIONS[0 if index < half else 1][0],
            "area": STREETS[index % 5],
        }
        if index == FALL_INDEX:
            community["family"] = [{"contact": FAMILY, "digest": "sms", "incidents": True}]
        if index == CALENDAR_INDEX:
            community["family"] = [{"contact": FAMILY_ABROAD, "digest": "email", "incidents": True}]
            community["calendar"] = [DAY_SERVICE]
        homes.append(
            {
                "id": household,
                "name": name,
                **community,
                "address_hint": f"{STREETS[index % 5]}{index % 4 + 1}丁目",
                "time_zone": time_zone,
                "language": "ja",
                "night_exit": index % 5 == 0,
                "evening_check": "on" if household in evening_check else "auto",
                "residents": [{"name": name}],
                "policy": {
                    "tiers": tiers,
                    "technical": ["t-tech"],
                    "quiet_hours": {"start": "21:00", "end": "07:00"},
                    "claim_timeout_minutes": 60,
                    "volunteer_weekly_cap": 5,
                },
            }
        )
    organisations = [{"id": org, "name": name} for org, name in ORGANISATIONS]
    return {"organisations": organisations, "contacts": contacts, "households": homes}


def add_demo_accounts(
    users: UserStore, households: Sequence[str], password: str, admin_key: str, now: datetime
) -> None:
    """care1 and care2 each look after half of the homes, each in the organisation that has them
    (:data:`ORGANISATIONS`); admin, the platform administrator, sees them all and (as every
    administrator must) signs in with a second factor: the authenticator key ``admin_key``."""
    half = (len(households) + 1) // 2
    (first, _), (second, _) = ORGANISATIONS
    for username, display, role, org, share in (
        ("care1", "ケアマネジャー 一", StaffRole.CARE_MANAGER, first, households[:half]),
        ("care2", "ケアマネジャー 二", StaffRole.CARE_MANAGER, second, households[half:]),
        ("admin", "管理者", StaffRole.ADMIN, DEFAULT_ORGANISATION, ()),
    ):
        users.add_user(username, display, role, password, language="ja", now=now, organisation=org)
        for household in share:
            users.assign(username, household)
    users.enrol_second_factor("admin", admin_key, 0, [], now)


@dataclass
class Town:
    """The simulated homes and what happens to them on the demo's day."""

    homes: list[SimHome]
    live_start: datetime
    fall: Scenario
    outage_home: str
    outage_at: datetime
    zone: ZoneInfo
    heat_home: str | None = None  # None: a town too small to have one
    heater: tuple[datetime, datetime] | None = None

    @classmethod
    def build(cls, count: int, seed: int, history_days: int, tz: str, today: date) -> Town:
        zone = ZoneInfo(tz)
        names = [f"home-{n:04d}" for n in range(1, count + 1)]
        fall = Scenario(names[min(FALL_INDEX, count - 1)], ScenarioKind.FALL, _at(today, FALL_AT, zone))
        heater = (_at(today, HEATER_ON, zone), _at(today, HEATER_OFF, zone))
        heat_home = names[HEAT_INDEX] if count > HEAT_INDEX else None
        specs = [
            HouseholdSpec(name, tz, climate=True, heater=heater)
            if name == heat_home
            else HouseholdSpec(name, tz)
            for name in names
        ]
        homes = build_homes(specs, seed, today - timedelta(days=history_days), [fall], tz)
        outage_home = names[min(6, count - 1)]
        return cls(
            homes,
            _at(today, LIVE_FROM, zone),
            fall,
            outage_home,
            _at(today, OUTAGE_AT, zone),
            zone,
            heat_home,
            heater if heat_home else None,
        )

    @property
    def households(self) -> list[str]:
        return [home.household for home in self.homes]

    def community(self) -> list[str]:
        """Who shares the town's care, as the banner says it."""
        names = self.households
        half = (len(names) + 1) // 2
        (first, first_name), (second, second_name) = ORGANISATIONS
        fall, calendar = names[min(FALL_INDEX, len(names) - 1)], names[min(CALENDAR_INDEX, len(names) - 1)]
        days = "/".join(d.capitalize() for d in DAY_SERVICE["weekly"])
        return [
            f"  organisations: {first} {first_name} ({names[0]}..{names[half - 1]}),"
            f" {second} {second_name} ({names[min(half, len(names) - 1)]}..{names[-1]})",
            "  volunteers v-1..v-4: one pool shared by both organisations",
            f"  family: {fall}'s son {family_phone()} hears when an alert about her opens and closes,"
            " and gets a digest at 19:00",
            f"  care calendar: {calendar} goes to a day service {days} {DAY_SERVICE['start']}-"
            f"{DAY_SERVICE['end']}; her daughter abroad gets the digest by e-mail",
            *(
                [
                    f"  room sensors: {self.heat_home} has thermometers in three rooms; a hot room is texted"
                    f" to her first, then her neighbours if it stays hot {HEAT_RESIDENT_WAIT_MIN} min"
                ]
                if self.heat_home
                else []
            ),
        ]

    def script(self) -> list[tuple[datetime, str]]:
        """Today's scripted events, as the console announces them (in time order)."""
        script = [
            (self.fall.t0, f"{self.fall.household}: the resident falls; her sensors go silent (scripted)"),
            (self.outage_at, f"{self.outage_home}: internet cut (scripted, for {OUTAGE.seconds // 3600} h)"),
            (self.outage_at + OUTAGE, f"{self.outage_home}: internet back"),
        ]
        if self.heat_home and self.heater:
            on, off = self.heater
            script += [
                (
                    on,
                    f"{self.heat_home}: a kerosene heater left on high, windows shut (scripted)",
                ),
                (off, f"{self.heat_home}: heater turned down"),
            ]
        return sorted(script, key=lambda item: item[0])


def _at(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, zone)


async def until(clock: ScaledClock, at: datetime) -> None:
    """Return once the town's simulated clock reaches ``at``."""
    while (left := at - clock.now()) > timedelta(0):  # noqa: ASYNC110 (simulated time has no event)
        await asyncio.sleep(min(1.0, clock.real_seconds(left)))  # waiting for simulated time


def local_stamp(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%m/%d %H:%M")
