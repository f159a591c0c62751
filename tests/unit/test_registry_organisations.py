"""Organisations in the registry: declared in the households file, households and pooled volunteers
belong to them, and state files from before gain the columns on open."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from registry.households_import import import_data
from registry.models import DEFAULT_ORGANISATION, Need, Organisation
from registry.repository import Registry
from tests.conftest import FIXED_NOW


@pytest.fixture
def repo(tmp_path: Path) -> Registry:
    r = Registry(tmp_path / "state.sqlite3")
    r.open()
    return r


def _household(id_: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "name": id_,
        "policy": {"tiers": [{"kind": "neighbours", "contacts": ["c-n"]}]},
        **fields,
    }


def _data() -> dict[str, Any]:
    return {
        "organisations": [
            {"id": "hokatsu", "name": "地域包括支援センター", "operators": ["c-op"]},
            {"id": "kirari", "name": "きらりよしじま"},
        ],
        "contacts": [
            {"id": "c-n", "name": "隣", "phone": "+819000000001", "role": "neighbour"},
            {"id": "c-op", "name": "当番", "phone": "+819000000002", "role": "professional"},
            {
                "id": "c-v",
                "name": "ボラ",
                "phone": "+819000000003",
                "role": "volunteer",
                "pools": ["hokatsu", "kirari"],
            },
        ],
        "households": [
            _household("h-1", organisation="hokatsu", area="桜町", needs=["oxygen", "mobility"]),
            _household("h-2", organisation="kirari", area="桜町", lives_alone=False),
            _household("h-3"),
        ],
    }


def test_organisations_households_and_pools_import(repo: Registry) -> None:
    report = import_data(repo, _data(), FIXED_NOW)
    assert (report.organisations, report.contacts, report.households, report.rejected) == (2, 3, 3, [])
    assert repo.organisations() == [
        Organisation("hokatsu", "地域包括支援センター", ("c-op",)),
        Organisation("kirari", "きらりよしじま"),
    ]
    h1 = repo.household("h-1")
    assert h1 is not None
    assert (h1.organisation, h1.area, h1.lives_alone, h1.needs) == (
        "hokatsu",
        "桜町",
        True,
        (Need.OXYGEN, Need.MOBILITY),
    )
    h3 = repo.household("h-3")
    assert h3 is not None
    assert h3.organisation == DEFAULT_ORGANISATION
    volunteer = repo.contact("c-v")
    assert volunteer is not None
    assert volunteer.pools == ("hokatsu", "kirari")
    assert [h.id for h in repo.households(organisation="kirari")] == ["h-2"]
    assert [h.id for h in repo.households(area="桜町")] == ["h-1", "h-2"]
    assert [h.id for h in repo.households(organisation="hokatsu", area="梅町")] == []


def test_unknown_references_reject_only_their_entry(repo: Registry) -> None:
    data = _data()
    data["organisations"].append({"id": "ghost-ops", "name": "x", "operators": ["c-nobody"]})
    data["organisations"].append({"id": "bad id!", "name": "x"})
    data["contacts"].append(
        {"id": "c-w", "name": "w", "phone": "+819000000004", "role": "volunteer", "pools": ["nowhere"]}
    )
    data["households"].append(_household("h-4", organisation="nowhere"))
    data["households"].append(_household("h-5", needs=["wings"]))
    report = import_data(repo, data, FIXED_NOW)
    assert (report.organisations, report.contacts, report.households) == (2, 3, 3)
    reasons = "\n".join(report.rejected)
    assert "organisations[2] (ghost-ops): operators: unknown contacts c-nobody" in reasons
    assert "organisations[3] (bad id!): id:" in reasons
    assert "contacts[3] (c-w): pools: unknown organisations nowhere" in reasons
    assert "households[3] (h-4): organisation: unknown nowhere" in reasons
    assert "households[4] (h-5): needs.0:" in reasons
    assert len(report.rejected) == 5


def test_a_state_file_from_before_gains_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE households (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
        " address_hint TEXT NOT NULL DEFAULT '',"
        " time_zone TEXT NOT NULL DEFAULT 'Asia/Tokyo', language TEXT NOT NULL DEFAULT 'ja',"
        " night_exit_opt_in INTEGER NOT NULL DEFAULT 0);"
        "INSERT INTO households (id, name) VALUES ('h-old', '古い');"
    )
    db.commit()
    db.close()
    repo = Registry(path)
    repo.open()
    old = repo.household("h-old")
    assert old is not None
    assert (old.organisation, old.area, old.lives_alone, old.needs) == (DEFAULT_ORGANISATION, "", True, ())
