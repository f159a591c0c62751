"""Disaster checks, the pure part: who is safe, who is unknown, who to reach first; texts fit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalation import texts
from escalation.disaster.models import CheckHousehold, SafeBy, Standing
from escalation.disaster.standing import ordered, shows_life, standing
from registry.models import Language, Need
from tests.conftest import FIXED_NOW

START = FIXED_NOW


def home(
    household: str,
    *,
    alone: bool = True,
    needs: tuple[Need, ...] = (),
    seen: timedelta | None = timedelta(hours=-2),
    blind: bool = False,
    safe: SafeBy | None = None,
    help_: bool = False,
) -> CheckHousehold:
    return CheckHousehold(
        "c1",
        household,
        "桜町",
        alone,
        needs,
        last_activity_at=None if seen is None else START + seen,
        blind=blind,
        safe_at=START if safe else None,
        safe_by=safe,
        help_at=START if help_ else None,
    )


@pytest.mark.parametrize(
    ("minutes", "ignore", "alive"),
    [(None, 10, False), (-5, 10, False), (2, 10, False), (9.9, 10, False), (10, 10, True), (1, 0, True)],
)
def test_activity_counts_only_after_the_quakes_own_minutes(
    minutes: float | None, ignore: int, alive: bool
) -> None:
    at = None if minutes is None else START + timedelta(minutes=minutes)
    assert shows_life(at, START, ignore) is alive


@pytest.mark.parametrize(
    ("h", "expected"),
    [
        (home("a", safe=SafeBy.REPLY, blind=True), Standing.SAFE),  # an answer beats a dark gateway
        (home("b", blind=True), Standing.UNKNOWN),
        (home("c"), Standing.WAITING),
    ],
)
def test_standing(h: CheckHousehold, expected: Standing) -> None:
    assert standing(h) is expected


def test_order_of_need() -> None:
    homes = [
        home("quake-only", seen=timedelta(minutes=2)),  # sensors tripped by the quake, nothing since
        home("not-alone", alone=False, needs=(Need.OXYGEN,)),
        home("hearing", needs=(Need.HEARING,)),
        home("oxygen", needs=(Need.OXYGEN,)),
        home("mobility-dementia", needs=(Need.MOBILITY, Need.DEMENTIA)),
        home("never-seen", seen=None),
        home("old", seen=timedelta(hours=-9)),
        home("recent", seen=timedelta(minutes=-30)),
        home("helped", help_=True, alone=False, seen=timedelta(minutes=20)),
        home("fine", safe=SafeBy.ACTIVITY),
        home("blind", blind=True, needs=(Need.OXYGEN,), seen=timedelta(hours=-1)),
    ]
    assert [h.household for h in ordered(homes, START)] == [
        "helped",  # asked for help: first whatever else
        "oxygen",  # no sign since the event, alone: then by needs (oxygen 8 > mobility 4 + dementia 2)
        "blind",  # oxygen too; seen an hour before (after "oxygen", seen two hours before)
        "mobility-dementia",
        "hearing",
        "never-seen",  # no needs: the longest since any activity first
        "old",
        "recent",
        "not-alone",
        "quake-only",  # something moved in the quake's minutes: after every home with nothing at all
    ]


@pytest.mark.parametrize("lang", list(Language))
def test_texts_fit(lang: Language) -> None:
    link = "https://mimamori.example.jp/d/" + "x" * 30
    check = texts.disaster_check(lang, "K7", link)
    assert texts.segments(check) <= 2
    ask = texts.text("disaster_ask", lang, name="山田花子", hint="桜町2丁目 青い屋根", code="K7")
    assert texts.segments(ask) == 1 if lang is Language.JA else texts.segments(ask) <= 2
    for key in ("disaster_thanks", "disaster_help", "disaster_going", "disaster_noted"):
        assert texts.segments(texts.text(key, lang)) == 1
