"""The administration pages over the real stores: households, their first contact and policy settings
written to the registry with the households import's validation, staff accounts to the accounts file;
every page in Japanese and in English without a code word."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from dashboard.care_records import StateCareRecords
from dashboard.users import StaffRole, UserStore
from dashboard.views import InvalidEdit, VolunteerDraft
from escalation.repository import EscalationRepository
from mimamori.clock import FakeClock
from registry.models import (
    Availability,
    Contact,
    ContactRole,
    Digest,
    FamilyLink,
    Language,
    Need,
    Organisation,
    QuietHours,
    TierKind,
)
from tests.support.dashboard_fakes import PASSWORD, csrf_of
from tests.support.dashboard_real import OTHER, OWN, Client, cookie_client, real_dashboard
from tests.support.staff_sign_in import sign_in
from tests.support.visible_text import CODE_WORD_ENUMS, visible_words

SignIn = Callable[[str, str], Awaitable[Client]]


@pytest.fixture
async def stores(
    tmp_path: Path, clock: FakeClock, aiohttp_server: Any, aiohttp_client: Any
) -> AsyncIterator[tuple[SignIn, EscalationRepository, UserStore]]:
    async with real_dashboard(tmp_path, clock, aiohttp_server) as real:

        async def signed_in(username: str, password: str = PASSWORD) -> Client:
            client = await cookie_client(aiohttp_client, real.server)
            assert (await sign_in(client, username, password)).status == 303
            return client

        yield signed_in, real.repo, real.users


async def _post(client: Client, path: str, data: dict[str, Any]) -> aiohttp.ClientResponse:
    token = csrf_of(
        await (await client.get(path.rsplit("/", 1)[0] if path.endswith("/policy") else path)).text()
    )
    return await client.post(path, data={**data, "csrf_token": token}, allow_redirects=False)


NEW_HOUSEHOLD = {
    "id": "hh-ume",
    "name": "梅田 ハナ",
    "address_hint": "梅町3-2",
    "area": "梅町",
    "time_zone": "Asia/Tokyo",
    "language": "ja",
    "lives_alone": "1",
    "needs": ["oxygen", "mobility"],
    "contact_name": "阿部",
    "contact_phone": "+819055556666",
    "contact_role": "neighbour",
    "contact_language": "ja",
}


async def test_a_household_is_registered_with_its_first_contact(
    stores: tuple[SignIn, EscalationRepository, UserStore],
) -> None:
    signed_in, repo, _ = stores
    root = await signed_in("root", PASSWORD)
    refused = await _post(
        root, "/admin/households", NEW_HOUSEHOLD | {"contact_phone": "090", "needs": "wings"}
    )
    assert refused.status == 422
    page = await refused.text()
    assert 'id="error-contact_phone"' in page
    assert 'id="error-needs"' in page
    assert repo.household("hh-ume") is None
    made = await _post(root, "/admin/households", NEW_HOUSEHOLD)
    assert made.status == 303
    household = repo.household("hh-ume")
    assert household is not None
    assert (household.organisation, household.area, household.lives_alone) == ("default", "梅町", True)
    assert household.needs == (Need.OXYGEN, Need.MOBILITY)
    policy = repo.policy("hh-ume")
    assert policy is not None
    [tier] = policy.tiers
    [contact] = repo.contacts("hh-ume")
    assert (tier.kind, tier.contacts, contact.phone) == (TierKind.NEIGHBOURS, (contact.id,), "+819055556666")
    again = await _post(root, "/admin/households", NEW_HOUSEHOLD)
    assert again.status == 422  # the id is taken
    edited = await _post(
        root, "/admin/households/hh-ume", NEW_HOUSEHOLD | {"area": "桜町", "needs": [], "lives_alone": ""}
    )
    assert edited.status == 303
    household = repo.household("hh-ume")
    assert household is not None
    assert (household.area, household.needs, household.lives_alone) == ("桜町", (), False)
    actions = [e.action for e in repo.audit_log(household="hh-ume")]
    assert {"household.added", "household.saved"} <= set(actions)


async def test_policy_settings_and_a_new_tier_are_validated_like_the_import(
    stores: tuple[SignIn, EscalationRepository, UserStore],
) -> None:
    signed_in, repo, _ = stores
    root = await signed_in("root", PASSWORD)
    path = f"/households/{OTHER}/policy"
    good = {"wait_0": "20", "members_0": "c-suzuki", "mode_0": "all", "volunteer_weekly_cap": "5"}
    good |= {"claim_timeout_minutes": "30", "quiet_start": "21:00", "quiet_end": "07:00"}
    good |= {"kind_1": "volunteers", "members_1": "c-suzuki", "mode_1": "one_by_one", "wait_1": "25"}
    for bad, field in (
        ({"claim_timeout_minutes": "3"}, "claim_timeout_minutes"),
        ({"quiet_end": ""}, "quiet"),
    ):
        refused = await _post(root, path, good | bad)
        assert refused.status == 422, bad
        assert f'id="error-{field}"' in await refused.text()
    saved = await _post(root, path, good)
    assert saved.status == 303
    policy = repo.policy(OTHER)
    assert policy is not None
    assert [t.kind for t in policy.tiers] == [TierKind.NEIGHBOURS, TierKind.VOLUNTEERS]
    assert (policy.claim_timeout_minutes, policy.volunteer_weekly_cap) == (30, 5)
    assert policy.quiet_hours == QuietHours(time(21), time(7))
    assert "policy.saved" in [e.action for e in repo.audit_log(household=OTHER)]


async def test_accounts_are_made_and_passwords_reset_in_the_web_ui(
    stores: tuple[SignIn, EscalationRepository, UserStore],
) -> None:
    signed_in, _, users = stores
    root = await signed_in("root", PASSWORD)
    account = {"username": "minsei", "display_name": "民生委員 山本", "role": "viewer", "area": "梅町"}
    account |= {"language": "ja", "password": "short"}
    assert (await _post(root, "/admin/users", account)).status == 422
    assert users.user("minsei") is None
    assert (await _post(root, "/admin/users", account | {"password": "first password 1"})).status == 303
    viewer = users.user("minsei")
    assert viewer is not None
    assert (viewer.role, viewer.area) == (StaffRole.VIEWER, "梅町")
    reset = await _post(root, "/admin/users/minsei", account | {"password": "second password 2"})
    assert reset.status == 303
    assert users.authenticate("minsei", "first password 1") is None
    assert users.authenticate("minsei", "second password 2") is not None


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_the_administration_pages_speak_one_language(
    stores: tuple[SignIn, EscalationRepository, UserStore], lang: str
) -> None:
    signed_in, repo, _ = stores
    repo.upsert_contact(Contact("f-son", "山田一郎", "+819012340000", ContactRole.FAMILY))
    repo.set_family(OWN, [FamilyLink(OWN, "f-son", Digest.SMS)])
    repo.set_availability("c-mori", [Availability((0, 1), time(9), time(17))])
    root = await signed_in("root", PASSWORD)
    token = csrf_of(await (await root.get("/")).text())
    assert (await root.post("/language", data={"csrf_token": token, "lang": lang})).status == 200
    codes = {member.value for enum in (*CODE_WORD_ENUMS, Need) for member in enum}
    forbidden = codes if lang == "ja" else {code for code in codes if "_" in code}
    pages = ["/admin/users", "/admin/users/alice", "/admin/households", f"/admin/households/{OTHER}"]
    pages += [
        f"/households/{OWN}/contacts",
        f"/households/{OWN}/volunteers/c-mori",
        f"/households/{OWN}/policy",
    ]
    for path in pages:
        response = await root.get(path)
        assert response.status == 200, path
        text, words = visible_words(await response.text())
        assert not words & forbidden, (path, sorted(words & forbidden))
        assert {"ja": "管理", "en": "Administration"}[lang] in text


async def test_a_volunteers_pool_settings_are_validated_like_the_import(
    stores: tuple[SignIn, EscalationRepository, UserStore], clock: FakeClock
) -> None:
    signed_in, repo, _ = stores
    repo.upsert_organisation(Organisation("kirari", "きらり", ()))
    mori = repo.contact("c-mori")
    assert mori is not None
    repo.upsert_contact(replace(mori, pools=("kirari",)))
    root = await signed_in("root", PASSWORD)
    assert (
        'href="/households/hh-own/volunteers/c-mori"'
        in await (await root.get(f"/households/{OWN}/contacts")).text()
    )
    path = f"/households/{OWN}/volunteers/c-mori"
    good = {"availability": "mon,tue,wed,thu,fri 09:00-17:00\nsat 22:00-06:00", "resting_until": "2026-12-20"}
    good |= {"weekly_cap": "2", "pools": ["default", "kirari"]}
    for bad, field in (
        ({"availability": "mon,funday 09:00-17:00"}, "availability"),
        ({"availability": "mon 09:00"}, "availability"),
        ({"availability": "mon 09:00-09:00"}, "availability"),
        ({"resting_until": "soon"}, "resting_until"),
        ({"weekly_cap": "many"}, "weekly_cap"),
        ({"pools": ["nosuch"]}, "pools"),
    ):
        refused = await _post(root, path, good | bad)
        assert refused.status == 422, bad
        assert f'id="error-{field}"' in await refused.text(), bad
    assert repo.availability(["c-mori"]) == {}
    assert (await _post(root, path, good)).status == 303
    saved = repo.contact("c-mori")
    assert saved is not None
    assert (saved.weekly_cap, saved.pools) == (2, ("default", "kirari"))
    weekdays = Availability((0, 1, 2, 3, 4), time(9), time(17))
    assert repo.availability(["c-mori"]) == {"c-mori": (weekdays, Availability((5,), time(22), time(6)))}
    rest_end = datetime(2026, 12, 21, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert repo.resting(["c-mori"], clock.now()) == {"c-mori": rest_end}
    assert "volunteer.saved" in [e.action for e in repo.audit_log(household=OWN)]
    page = await (await root.get(path)).text()
    assert "2026-12-20" in page
    assert "sat 22:00-06:00" in page
    # an organisation's administrator changes its own organisation's pool only; the others are kept
    records = StateCareRecords(repo)
    draft = VolunteerDraft("", ("default",), "", "2026-12-20")
    with pytest.raises(InvalidEdit) as refused_pool:
        records.save_volunteer(
            OWN,
            "c-mori",
            replace(draft, pools=("kirari",)),
            organisations=["default"],
            actor="a",
            now=clock.now(),
        )
    assert "pools" in refused_pool.value.errors
    records.save_volunteer(
        OWN, "c-mori", replace(draft, pools=()), organisations=["default"], actor="a", now=clock.now()
    )
    after = repo.contact("c-mori")
    assert after is not None
    assert (after.pools, after.weekly_cap) == (("kirari",), None)
    assert repo.resting(["c-mori"], clock.now()) == {"c-mori": rest_end}  # unchanged date: rest kept
    assert repo.availability(["c-mori"]) == {}


async def test_an_administrator_sets_the_volunteers_tiers_pool_and_a_care_managers_edit_keeps_it(
    stores: tuple[SignIn, EscalationRepository, UserStore],
) -> None:
    signed_in, repo, _ = stores
    root = await signed_in("root", PASSWORD)
    path = f"/households/{OWN}/policy"
    tiers = {"members_0": "c-kato", "wait_0": "20", "mode_0": "all", "members_1": "c-mori", "wait_1": "30"}
    tiers |= {"mode_1": "one_by_one", "members_2": "c-clinic", "wait_2": "30", "mode_2": "all"}
    settings = {"claim_timeout_minutes": "45", "volunteer_weekly_cap": "3"}
    refused = await _post(root, path, tiers | settings | {"pool_1": "1", "pool_size_1": "0"})
    assert refused.status == 422
    assert 'id="error-pool_size_1"' in await refused.text()
    assert (await _post(root, path, tiers | settings | {"pool_1": "1", "pool_size_1": "2"})).status == 303
    policy = repo.policy(OWN)
    assert policy is not None
    assert (policy.tiers[1].pool, policy.tiers[1].pool_size) == (True, 2)
    alice = await signed_in("alice", PASSWORD)
    page = await (await alice.get(path)).text()
    assert 'name="pool_1"' not in page  # the pool is the organisation's: shown, not offered
    assert (await _post(alice, path, tiers | {"wait_1": "25", "pool_size_1": "9"})).status == 303
    policy = repo.policy(OWN)
    assert policy is not None
    assert (policy.tiers[1].wait_minutes, policy.tiers[1].pool, policy.tiers[1].pool_size) == (25, True, 2)
    assert (await _post(root, path, tiers | settings)).status == 303  # the box unticked: no pool
    policy = repo.policy(OWN)
    assert policy is not None
    assert policy.tiers[1].pool is False


async def test_a_care_manager_links_family_contacts_validated_like_the_import(
    stores: tuple[SignIn, EscalationRepository, UserStore],
) -> None:
    signed_in, repo, _ = stores
    for contact in (
        Contact("f-son", "山田一郎", "+819012340000", ContactRole.FAMILY),
        Contact("f-mary", "Mary", "+447700900123", ContactRole.FAMILY, Language.EN),
    ):
        repo.upsert_contact(contact)
        repo.link_contact(OWN, contact.id)
    alice = await signed_in("alice", PASSWORD)
    path = f"/households/{OWN}/family"
    page = await (await alice.get(f"/households/{OWN}/contacts")).text()
    token = csrf_of(page)

    async def post(data: dict[str, Any]) -> aiohttp.ClientResponse:
        return await alice.post(path, data={**data, "csrf_token": token}, allow_redirects=False)

    assert 'id="family-form"' in page
    assert 'id="family-f-son"' in page
    good = {"family": ["f-son", "f-mary"], "digest_f-son": "sms", "incidents_f-son": "1"}
    for bad, field in (
        ({"digest_f-mary": "email"}, "family_f-mary"),  # no e-mail address
        ({"digest_f-son": "fax"}, "family_f-son"),
        ({"family": ["f-son", "c-kato"]}, "family_c-kato"),  # a neighbour is not offered
    ):
        refused = await post(good | bad)
        assert refused.status == 422, bad
        assert f'id="error-{field}"' in await refused.text() or field == "family_c-kato", bad
    assert repo.family_links(OWN) == []
    assert (await post(good)).status == 303
    assert repo.family_links(OWN) == [
        FamilyLink(OWN, "f-mary", Digest.NONE, False),
        FamilyLink(OWN, "f-son", Digest.SMS, True),
    ]
    [saved] = [e for e in repo.audit_log(household=OWN) if e.action == "family.saved"]
    assert saved.actor == "care_manager:alice"
    assert (await post({"family": ["f-son"], "digest_f-son": "none"})).status == 303
    assert repo.family_links(OWN) == [FamilyLink(OWN, "f-son", Digest.NONE, False)]
