"""A town for disaster checks: ``n`` households in four areas, each with a resident who answers by SMS,
a volunteer per area, and sensors that tell apart (by ``i % 10``) who moved after the quake.

| i % 10 | before the start         | after the start                           | expected   |
|--------|--------------------------|-------------------------------------------|------------|
| 0      | gateway offline          | nothing                                   | unknown    |
| 1, 2   | activity hours before    | activity in the quake's own minutes (+2)  | waiting    |
| 3      | activity hours before    | activity at +15 min                       | safe       |
| 4 - 9  | activity hours before    | nothing                                   | waiting    |
"""

from __future__ import annotations

from datetime import datetime, timedelta

from escalation.repository import EscalationRepository
from mimamori.contract import Event, GatewayState, GatewayStatus, Kind, message_id_for
from registry.models import Contact, ContactRole, Household, Need, Policy, Tier, TierKind
from store.base import IngestBatch
from store.sqlite import SqliteEventStore

AREAS = ("桜町", "梅町", "松町", "竹町")
NEEDS: tuple[tuple[Need, ...], ...] = (
    (),
    (Need.OXYGEN,),
    (),
    (Need.MOBILITY, Need.HEARING),
    (),
    (Need.DEMENTIA,),
)


def household_id(i: int) -> str:
    return f"h-{i:05d}"


def resident_phone(i: int) -> str:
    return f"+8190{i:08d}"


def volunteer_phone(area: int) -> str:
    return f"+8180{area:08d}"


def texted(i: int, every: int) -> bool:
    """Whether household ``i`` has a resident to text (one in ``every``, from the sixth: never blind)."""
    return i % every == 5 % every


def seed_households(repo: EscalationRepository, n: int, now: datetime, every: int = 1) -> None:
    """``n`` households; one in ``every`` has a resident who answers by SMS."""
    with repo.transaction():
        for a in range(len(AREAS)):
            repo.upsert_contact(
                Contact(f"v-{a}", f"ボランティア{a}", volunteer_phone(a), ContactRole.VOLUNTEER)
            )
        for i in range(n):
            hid = household_id(i)
            area = i % len(AREAS)
            repo.upsert_household(
                Household(
                    hid,
                    f"住民{i}",
                    f"{AREAS[area]}{i}",
                    area=AREAS[area],
                    lives_alone=i % 4 != 0,
                    needs=NEEDS[i % len(NEEDS)],
                )
            )
            if texted(i, every):
                repo.upsert_contact(Contact(f"r-{i}", f"住民{i}", resident_phone(i), ContactRole.RESIDENT))
                repo.link_contact(hid, f"r-{i}")
            repo.set_policy(Policy(hid, (Tier(TierKind.VOLUNTEERS, (f"v-{area}",)),)), now)


def _event(household: str, at: datetime, seq: int) -> Event:
    return Event(
        message_id_for(household, "hall-motion", Kind.MOTION, 1.0, at),
        household,
        "gw-1",
        "hall-motion",
        Kind.MOTION,
        1.0,
        at,
        seq,
    )


def seed_before(store: SqliteEventStore, n: int, start: datetime) -> None:
    """Every home's gateway and its last activity before the quake."""
    events, statuses = [], []
    for i in range(n):
        hid = household_id(i)
        state = GatewayState.OFFLINE if i % 10 == 0 else GatewayState.ONLINE
        statuses.append(GatewayStatus(hid, "gw-1", state, start - timedelta(minutes=1)))
        events.append(_event(hid, start - timedelta(minutes=30 + 7 * (i % 30)), 1))
    store.commit_batch(IngestBatch(received_at=start, events=events, statuses=statuses))


def seed_after(store: SqliteEventStore, n: int, start: datetime) -> None:
    """The quake trips some sensors (+2 min); some residents move later (+15 min)."""
    events = []
    for i in range(n):
        if i % 10 in (1, 2):
            events.append(_event(household_id(i), start + timedelta(minutes=2), 2))
        elif i % 10 == 3:
            events.append(_event(household_id(i), start + timedelta(minutes=15), 2))
    store.commit_batch(IngestBatch(received_at=start + timedelta(minutes=16), events=events))


def expected(n: int) -> dict[str, int]:
    """What a check on this town should count once the sensors after the quake are in."""
    unknown = sum(1 for i in range(n) if i % 10 == 0)
    safe = sum(1 for i in range(n) if i % 10 == 3)
    return {"households": n, "safe": safe, "unknown": unknown, "waiting": n - safe - unknown}
