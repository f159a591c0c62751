"""Editing a household's contacts, escalation policy and watching options. Validation is the records'
(the alerts state); refused edits come back as :class:`InvalidEdit` and are shown next to the fields
(422)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

from aiohttp import web
from multidict import MultiDictProxy

from dashboard import keys
from dashboard.access import actor_of, current_user, household_for, visible_ids
from dashboard.forms import form_text
from dashboard.render import render
from dashboard.views import (
    ContactDraft,
    FamilyView,
    HouseholdView,
    InvalidEdit,
    PolicyView,
    TierView,
    WatchOptions,
)
from mimamori.forms import read_form
from registry.models import Switch

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

ROLES = ("resident", "neighbour", "volunteer", "professional", "technical", "family")
MODES = ("all", "one_by_one")
DIGESTS = ("none", "sms", "email")
TIER_KINDS = ("resident_check", "neighbours", "volunteers", "professionals")


def _contacts_page(
    request: web.Request,
    household_id: str,
    *,
    errors: dict[str, str] | None = None,
    draft: ContactDraft | None = None,
    saved: bool = False,
    status: int = 200,
    family: list[FamilyView] | None = None,
) -> web.Response:
    records = request.app[keys.RECORDS]
    household = records.household(household_id)
    return render(
        request,
        "contacts.html",
        {
            "h": household,
            "contacts": records.contacts(household_id),
            "errors": errors or {},
            "draft": draft,
            "saved": saved,
            "roles": ROLES,
            "family": records.family(household_id) if family is None else family,
            "digests": DIGESTS,
        },
        status=status,
    )


@routes.get("/households/{household}/contacts", name="contacts")
async def contacts_form(request: web.Request) -> web.Response:
    household = household_for(request, "view_contacts")
    return _contacts_page(request, household.id, saved=request.query.get("saved") == "1")


@routes.post("/households/{household}/contacts")
async def save_contact(request: web.Request) -> web.Response:
    household = household_for(request, "edit_contact")
    form = await read_form(request)
    draft = ContactDraft(
        id=form_text(form, "contact_id") or None,
        name=form_text(form, "name"),
        phone=form_text(form, "phone"),
        role=form_text(form, "role"),
        language=form_text(form, "language"),
        channels=form_text(form, "channels") if "channels" in form else None,
        email=form_text(form, "email") if "email" in form else None,
    )
    try:
        request.app[keys.RECORDS].save_contact(
            household.id,
            draft,
            actor=actor_of(request),
            now=request.app[keys.CLOCK].now(),
            visible=visible_ids(request),
        )
    except InvalidEdit as exc:
        log.info("dashboard.contact_refused household=%s fields=%s", household.id, ",".join(exc.errors))
        return _contacts_page(request, household.id, errors=exc.errors, draft=draft, status=422)
    raise web.HTTPSeeOther(f"/households/{household.id}/contacts?saved=1")


@routes.post("/households/{household}/family")
async def save_family(request: web.Request) -> web.Response:
    household = household_for(request, "edit_family")
    records = request.app[keys.RECORDS]
    form = await read_form(request)
    linked = {v for v in form.getall("family", []) if isinstance(v, str)}
    shown = records.family(household.id)
    links = [  # the household's family contacts as posted: ticked ones are linked
        FamilyView(
            f.contact,
            f.name,
            f.contact in linked,
            form_text(form, f"digest_{f.contact}") or "none",
            form_text(form, f"incidents_{f.contact}") == "1",
        )
        for f in shown
    ]
    unknown = linked - {f.contact for f in shown}
    try:
        if unknown:
            raise InvalidEdit(
                {f"family_{c[:64]}": f"family: unknown contact {c[:64]}" for c in sorted(unknown)}
            )
        records.save_family(
            household.id,
            [f for f in links if f.linked],
            actor=actor_of(request),
            now=request.app[keys.CLOCK].now(),
        )
    except InvalidEdit as exc:
        log.info("dashboard.family_refused household=%s fields=%s", household.id, ",".join(exc.errors))
        return _contacts_page(request, household.id, errors=exc.errors, family=links, status=422)
    raise web.HTTPSeeOther(f"/households/{household.id}/contacts?saved=1#family")


def _form_page(
    request: web.Request,
    page: str,
    household: HouseholdView,
    context: Mapping[str, object],
    *,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    status: int = 200,
) -> web.Response:
    """The household's form ``page`` (``page``.html) with its ``context``, refused fields, and "saved"."""
    page_context = {"h": household, **context, "errors": errors or {}, "saved": saved}
    return render(request, f"{page}.html", page_context, status=status)


def _saved_or_refused(
    request: web.Request,
    page: str,
    household: HouseholdView,
    errors: dict[str, str],
    save: Callable[[str, datetime], None],
    context: Callable[[], Mapping[str, object]],
) -> web.Response:
    """The end of a form's POST: ``save(actor, now)`` unless fields were refused already; refused fields
    come back on the form ``page`` (422), a saved edit goes back to it."""
    if not errors:
        try:
            save(actor_of(request), request.app[keys.CLOCK].now())
        except InvalidEdit as exc:
            errors = exc.errors
    if errors:
        log.info("dashboard.%s_refused household=%s fields=%s", page, household.id, ",".join(errors))
        return _form_page(request, page, household, context(), errors=errors, status=422)
    raise web.HTTPSeeOther(f"/households/{household.id}/{page}?saved=1")


def _policy_context(request: web.Request, household: HouseholdView, policy: PolicyView) -> dict[str, object]:
    return {
        "policy": policy,
        "contacts": request.app[keys.RECORDS].contacts(household.id),
        "modes": MODES,
        "settings": current_user(request).manages,  # claim timeout, cap, quiet hours, a new tier
        "new_kinds": [k for k in TIER_KINDS if k not in {t.name for t in policy.tiers}],
    }


@routes.get("/households/{household}/policy", name="policy")
async def policy_form(request: web.Request) -> web.Response:
    household = household_for(request, "view_policy")
    policy = request.app[keys.RECORDS].policy(household.id)
    context = _policy_context(request, household, policy)
    return _form_page(request, "policy", household, context, saved=request.query.get("saved") == "1")


def _minutes(form: MultiDictProxy[str], name: str, default: int, errors: dict[str, str]) -> int:
    """The whole number posted as ``name`` (``default`` and an error when it is not one)."""
    try:
        return int(form_text(form, name))
    except ValueError:
        errors[name] = "a whole number of minutes"
        return default


def _pool(form: MultiDictProxy[str], index: int, tier: TierView, errors: dict[str, str]) -> TierView:
    """``tier`` with the pool fields posted for it (a box ``pool_N`` and ``pool_size_N``)."""
    pool = form_text(form, f"pool_{index}") == "1"
    try:
        size = int(form_text(form, f"pool_size_{index}") or tier.pool_size)
    except ValueError:
        errors[f"pool_size_{index}"] = "a whole number"
        size = tier.pool_size
    return replace(tier, pool=pool, pool_size=size)


@routes.post("/households/{household}/policy")
async def save_policy(request: web.Request) -> web.Response:
    household = household_for(request, "edit_policy")
    records = request.app[keys.RECORDS]
    form = await read_form(request)
    current = records.policy(household.id)
    tiers: list[TierView] = []
    errors: dict[str, str] = {}
    manages = current_user(request).manages
    for index, tier in enumerate(current.tiers):
        wait = _minutes(form, f"wait_{index}", tier.wait_minutes, errors)
        members = tuple(v for v in form.getall(f"members_{index}", []) if isinstance(v, str))
        edited = TierView(tier.name, members, form_text(form, f"mode_{index}") or tier.mode, wait)
        # the pool is the organisation's: its administrators choose it; anyone else's edit keeps it
        tiers.append(
            _pool(form, index, edited, errors)
            if manages
            else replace(edited, pool=tier.pool, pool_size=tier.pool_size)
        )
    policy = replace(current, tiers=tuple(tiers))
    if manages:  # the settings and one new tier (import-file only before)
        new = len(current.tiers)
        kind = form_text(form, f"kind_{new}")
        if kind:
            members = tuple(v for v in form.getall(f"members_{new}", []) if isinstance(v, str))
            wait = _minutes(form, f"wait_{new}", 15, errors)
            added = TierView(kind, members, form_text(form, f"mode_{new}") or "all", wait)
            tiers.append(_pool(form, new, added, errors))
        policy = PolicyView(
            tuple(tiers),
            _minutes(form, "claim_timeout_minutes", current.claim_timeout_minutes, errors),
            _minutes(form, "volunteer_weekly_cap", current.volunteer_weekly_cap, errors),
            form_text(form, "quiet_start", 5),
            form_text(form, "quiet_end", 5),
        )

    def save(actor: str, now: datetime) -> None:
        records.save_policy(household.id, policy, actor=actor, now=now)

    return _saved_or_refused(
        request, "policy", household, errors, save, lambda: _policy_context(request, household, policy)
    )


OPTIONS = ("night_exit", "evening_check")  # the fields of WatchOptions, in the order shown
SWITCHED = ("evening_check",)  # options the detector can decide (auto, on, off); the others are boxes


def _options_context(options: WatchOptions) -> dict[str, object]:
    return {"options": options, "names": OPTIONS, "switched": SWITCHED, "switches": [s.value for s in Switch]}


@routes.get("/households/{household}/options", name="options")
async def options_form(request: web.Request) -> web.Response:
    household = household_for(request, "view_options")
    context = _options_context(request.app[keys.RECORDS].options(household.id))
    return _form_page(request, "options", household, context, saved=request.query.get("saved") == "1")


@routes.post("/households/{household}/options")
async def save_options(request: web.Request) -> web.Response:
    household = household_for(request, "edit_options")
    form = await read_form(request)
    # a ticked box posts "1", an unticked one nothing; a switch auto, on or off ("1": on, nothing: auto)
    errors: dict[str, str] = {}
    if form_text(form, "night_exit") not in ("", "1"):
        errors["night_exit"] = "tick or untick the box"
    try:
        evening = Switch.parse(form_text(form, "evening_check") or Switch.AUTO)
    except ValueError:
        errors["evening_check"] = "choose auto, on or off"
        evening = Switch.AUTO
    options = WatchOptions(form_text(form, "night_exit") == "1", evening)

    def save(actor: str, now: datetime) -> None:
        request.app[keys.RECORDS].save_options(household.id, options, actor=actor, now=now)

    return _saved_or_refused(request, "options", household, errors, save, lambda: _options_context(options))
