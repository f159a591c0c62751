"""Family contacts in the households file: linked to the household without a tier, found with
``Registry.family_of``, receiving its data (a provision), and rejected with the reason when wrong."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from registry.households_import import import_data
from registry.models import ContactRole, Digest, FamilyLink
from registry.repository import Registry
from tests.conftest import FIXED_NOW


@pytest.fixture
def repo(tmp_path: Path) -> Registry:
    r = Registry(tmp_path / "state.sqlite3")
    r.open()
    return r


CONTACTS = [
    {"id": "c-n", "name": "隣", "phone": "+819000000001", "role": "neighbour"},
    {
        "id": "c-son",
        "name": "山田一郎",
        "phone": "+819000000002",
        "role": "family",
        "email": "ichiro@example.jp",
    },
    {
        "id": "c-daughter",
        "name": "Mary Yamada",
        "phone": "+447700900123",
        "role": "family",
        "language": "en",
        "email": "mary@example.org",
        "channels": ["email"],  # a family may be e-mail only
    },
]


def _data(family: Any = None, tiers: list[str] | None = None, **household: Any) -> dict[str, Any]:
    h: dict[str, Any] = {
        "id": "h-1",
        "name": "山田花子",
        "policy": {"tiers": [{"kind": "neighbours", "contacts": tiers or ["c-n"]}]},
        **household,
    }
    if family is not None:
        h["family"] = family
    return {"contacts": CONTACTS, "households": [h]}


def test_family_contacts_are_linked_without_a_tier(repo: Registry) -> None:
    family = [
        {"contact": "c-son", "digest": "sms"},
        {"contact": "c-daughter", "digest": "email", "incidents": False},
    ]
    report = import_data(repo, _data(family), FIXED_NOW)
    assert report.rejected == []
    members = repo.family_of("h-1")
    assert [(m.contact.id, m.link.digest, m.link.incidents) for m in members] == [
        ("c-daughter", Digest.EMAIL, False),
        ("c-son", Digest.SMS, True),
    ]
    assert all(m.contact.role is ContactRole.FAMILY for m in members)
    policy = repo.policy("h-1")
    assert policy is not None
    assert {c for t in policy.tiers for c in t.contacts} == {"c-n"}  # never placed in a tier
    assert {c.id for c in repo.contacts("h-1")} == {"c-n", "c-son", "c-daughter"}  # among its contacts
    assert {p.contact for p in repo.provisions("h-1") if p.until is None} == {"c-n", "c-son", "c-daughter"}
    assert set(repo.digest_families()) == {"h-1"}
    assert import_data(repo, _data(family), FIXED_NOW).rejected == []  # the same file again: the same
    assert repo.family_of("h-1") == members


def test_a_new_list_replaces_the_family_and_no_key_keeps_it(repo: Registry) -> None:
    import_data(repo, _data([{"contact": "c-son"}, {"contact": "c-daughter"}]), FIXED_NOW)
    import_data(repo, _data(), FIXED_NOW)  # no `family:` key: kept
    assert [m.contact.id for m in repo.family_of("h-1")] == ["c-daughter", "c-son"]
    later = FIXED_NOW + timedelta(days=1)
    import_data(repo, _data([{"contact": "c-son"}]), later)
    assert [m.link for m in repo.family_of("h-1")] == [FamilyLink("h-1", "c-son", Digest.NONE, True)]
    assert {c.id for c in repo.contacts("h-1")} == {"c-n", "c-son"}  # unlinked
    closed = [p for p in repo.provisions("h-1") if p.contact == "c-daughter"]
    assert [p.until for p in closed] == [later]  # no longer receives the household's data
    assert repo.digest_families() == {}  # digest none


def test_a_family_contact_the_policy_lists_is_in_that_tier(repo: Registry) -> None:
    report = import_data(repo, _data([{"contact": "c-son"}], tiers=["c-n", "c-son"]), FIXED_NOW)
    assert report.rejected == []
    policy = repo.policy("h-1")
    assert policy is not None
    assert policy.tiers[0].contacts == ("c-n", "c-son")


@pytest.mark.parametrize(
    ("family", "tiers", "reason"),
    [
        ([{"contact": "c-nobody"}], None, "family: unknown contact c-nobody"),
        ([{"contact": "c-n"}], None, "family: c-n is a neighbour, not a family contact"),
        ([{"contact": "c-son"}, {"contact": "c-son"}], None, "each family contact at most once"),
        ([{"contact": "c-son", "digest": "fax"}], None, "family.0.digest"),
        ([{"contact": "c-son", "digest": "sms", "extra": 1}], None, "family.0.extra"),
        (None, ["c-n", "c-daughter"], "policy: family contact c-daughter in a tier needs sms, voice or line"),
    ],
)
def test_bad_family_entries_reject_their_household_with_the_reason(
    repo: Registry, family: Any, tiers: list[str] | None, reason: str
) -> None:
    report = import_data(repo, _data(family, tiers), FIXED_NOW)
    assert len(report.rejected) == 1
    assert report.rejected[0].startswith("households[0] (h-1): ")
    assert reason in report.rejected[0]
    assert repo.household("h-1") is None


def test_an_email_digest_needs_an_address(repo: Registry) -> None:
    data = _data([{"contact": "c-aunt", "digest": "email"}])
    data["contacts"] = [
        *CONTACTS,
        {"id": "c-aunt", "name": "叔母", "phone": "+819000000009", "role": "family"},
    ]
    (reason,) = import_data(repo, data, FIXED_NOW).rejected
    assert "family: c-aunt has no e-mail address for an e-mail digest" in reason
