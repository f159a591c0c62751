"""The household's sensitivity (低/標準/高), shown with what each setting would have cost on the
home's own history, and what detection has learned from its closed incidents."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Final

from aiohttp import web

from dashboard import keys
from dashboard.access import actor_of, household_for
from dashboard.cost_cache import CostKey
from dashboard.forms import form_text
from dashboard.render import render
from dashboard.views import HouseholdView, InvalidEdit
from detection.baseline import Baseline, learn, zone
from detection.cost import SettingCost, sensitivity_costs
from detection.learning import BAND_MIN, SENSITIVITY_FACTORS, Adjustment, Rule, adjustments, stretched
from detection.model import Profile, Tuning
from detection.replay import KINDS, Event
from detection.rooms import Room, RoomMap
from mimamori.forms import read_form
from registry.models import Sensitivity

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

WEEKS: Final = 4  # the window the cost is measured over
REFRESH_S: Final = 2  # the page reloads itself this often while its cost table is being computed
TUNING: Final = Tuning()  # the shipped tuning: the cost of a setting against the default detector


def cost_key(
    app: web.Application, household: HouseholdView, now: datetime
) -> tuple[CostKey, Profile, RoomMap]:
    """What the household's cost table depends on (cheap reads: options, outcomes, rooms, the store's
    newest event), with the profile and rooms to compute it."""
    records = app[keys.RECORDS]
    given = records.device_rooms(household.id)
    options = records.options(household.id)
    profile = Profile(
        household.id,
        household.tz,
        options.night_exit,
        evening_check=options.evening_check,
        feedback=tuple(records.learned_outcomes(household.id, now - timedelta(seconds=TUNING.learn_decay_s))),
    )
    tz = zone(household.tz)
    seen = [d.last_seen_at for d in app[keys.ACTIVITY].devices(household.id)]
    key = CostKey(
        household.id,
        (profile, tuple(sorted(given.items()))),
        now.astimezone(tz).date(),
        max(seen).astimezone(tz).date() if seen else None,
    )
    return key, profile, RoomMap(households={household.id: given})


async def household_costs(
    app: web.Application, household: HouseholdView, profile: Profile, rooms: RoomMap, now: datetime
) -> list[SettingCost]:
    """Every sensitivity replayed over the household's stored history (``WEEKS`` scored, after the
    days its first baselines learn from). Run as the cost cache's background task, never in a request:
    the store is read on the event loop, the replays (a second or two for a home of a few hundred
    events a day) in a worker thread, so other pages are served meanwhile."""
    reader = app[keys.ACTIVITY]
    start = now - timedelta(days=WEEKS * 7 + TUNING.history_days + 1)
    stored = reader.events(household.id, start, now)
    events: list[Event] = sorted(
        (e.observed_at.timestamp(), household.id, e.device, e.kind.value, e.value)
        for e in stored
        if e.kind.value in KINDS
    )
    place_at = {at: rooms.place(device, kind, household.id) for at, _, device, kind, _ in events}
    times = [t.timestamp() for t in reader.activity_times(household.id, start, now)]
    places = [place_at.get(t, 0) for t in times]
    return await asyncio.to_thread(
        partial(sensitivity_costs, weeks=WEEKS, tuning=TUNING, rooms=rooms),
        events,
        times,
        places,
        profile,
        now,
    )


def cached_costs(app: web.Application, household: HouseholdView, now: datetime) -> list[SettingCost] | None:
    """The household's cost table if computed for its current key; else None, and the computation is
    started in the background (the page says it is calculating and refreshes)."""
    cache = app[keys.COSTS]
    key, profile, rooms = cost_key(app, household, now)
    costs = cache.get(key)
    if costs is None:
        cache.start(key, partial(household_costs, app, household, profile, rooms, now))
    return costs


@dataclass(frozen=True, slots=True)
class LearnedView:
    """A threshold the household's closed incidents adjust now, with its minutes without and with the
    adjustment (the baseline learned from the store now, at the household's sensitivity, within the
    rule's bounds; None: the rule has no threshold in this home yet)."""

    adjustment: Adjustment
    before_min: int | None
    after_min: int | None


def learned(app: web.Application, household: HouseholdView, now: datetime) -> list[LearnedView]:
    """The thresholds the household's closed incidents adjust now (the baseline is learned from the
    store only when there are some)."""
    records = app[keys.RECORDS]
    since = now - timedelta(seconds=TUNING.learn_decay_s)
    found = adjustments(records.learned_outcomes(household.id, since), now, TUNING)
    if not found:
        return []
    reader = app[keys.ACTIVITY]
    start = now - timedelta(days=TUNING.history_days + 1)
    rooms = RoomMap(households={household.id: records.device_rooms(household.id)})
    place_at = {
        e.observed_at.timestamp(): rooms.place(e.device, e.kind.value, household.id)
        for e in reader.events(household.id, start, now)
        if e.kind.value in KINDS
    }
    times = [t.timestamp() for t in reader.activity_times(household.id, start, now)]
    baseline = learn(times, [place_at.get(t, 0) for t in times], household.tz, now.timestamp(), TUNING)
    divisor = SENSITIVITY_FACTORS[records.sensitivity(household.id)]
    views = []
    for a in found:
        before = _threshold_s(baseline, a.rule, a.band)
        if before is None:
            views.append(LearnedView(a, None, None))
            continue
        now_s = stretched(a.rule, before, 1 / divisor, baseline, TUNING)
        after_s = stretched(a.rule, before, a.factor / divisor, baseline, TUNING)
        views.append(LearnedView(a, round(now_s / 60), round(after_s / 60)))
    return views


def _threshold_s(baseline: Baseline, rule: Rule, band: int) -> float | None:
    """The threshold a rule has in this baseline (the band's longest for the time slot's)."""
    if rule is Rule.QUIET:
        return max(baseline.threshold_s(False, m) for m in range(band * BAND_MIN, (band + 1) * BAND_MIN, 30))
    if rule is Rule.OUTING:
        return baseline.outing_limit_s
    limit = baseline.stay(Room(rule.value))[1]
    return limit * 60.0 if limit else None


async def _page(
    request: web.Request,
    household: HouseholdView,
    chosen: str,
    *,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    reset: bool = False,
    status: int = 200,
) -> web.Response:
    app = request.app
    now = app[keys.CLOCK].now()
    costs = cached_costs(app, household, now)
    standard = next((c for c in costs if c.sensitivity is Sensitivity.STANDARD), None) if costs else None
    context = {
        "h": household,
        "chosen": chosen,
        "current": app[keys.RECORDS].sensitivity(household.id).value,
        "levels": [s.value for s in Sensitivity],
        "costs": costs or [],
        "calculating": costs is None,
        "refresh_s": REFRESH_S,
        "standard": standard,
        "weeks": WEEKS,
        "adjustments": learned(app, household, now),
        "errors": errors or {},
        "saved": saved,
        "reset": reset,
    }
    return render(request, "sensitivity.html", context, status=status)


@routes.get("/households/{household}/sensitivity", name="sensitivity")
async def sensitivity_form(request: web.Request) -> web.Response:
    household = household_for(request, "view_sensitivity")
    current = request.app[keys.RECORDS].sensitivity(household.id)
    query = request.query
    return await _page(
        request, household, current.value, saved=query.get("saved") == "1", reset=query.get("reset") == "1"
    )


@routes.post("/households/{household}/sensitivity")
async def save_sensitivity(request: web.Request) -> web.Response:
    household = household_for(request, "edit_sensitivity")
    form = await read_form(request)
    chosen = form_text(form, "sensitivity", 20)
    errors: dict[str, str] = {}
    try:
        level = Sensitivity(chosen)
    except ValueError:
        errors["sensitivity"] = "choose low, standard or high"
    else:
        try:
            request.app[keys.RECORDS].save_sensitivity(
                household.id, level, actor=actor_of(request), now=request.app[keys.CLOCK].now()
            )
        except InvalidEdit as exc:
            errors = exc.errors
    if errors:
        log.info("dashboard.sensitivity_refused household=%s fields=%s", household.id, ",".join(errors))
        return await _page(request, household, chosen, errors=errors, status=422)
    raise web.HTTPSeeOther(f"/households/{household.id}/sensitivity?saved=1")


@routes.post("/households/{household}/sensitivity/reset-learning")
async def reset_learning(request: web.Request) -> web.Response:
    """Forgets what detection learned from the household's closed incidents, once the care manager
    ticked the confirmation (its thresholds are again those learned from its history alone)."""
    household = household_for(request, "reset_learning")
    form = await read_form(request)
    records = request.app[keys.RECORDS]
    if form_text(form, "confirm", 4) != "1":
        log.info("dashboard.learning_reset_refused household=%s fields=confirm", household.id)
        current = records.sensitivity(household.id).value
        return await _page(
            request, household, current, errors={"confirm": "tick the box to confirm the reset"}, status=422
        )
    try:
        forgotten = records.reset_learning(
            household.id, actor=actor_of(request), now=request.app[keys.CLOCK].now()
        )
    except InvalidEdit as exc:
        return await _page(request, household, "", errors=exc.errors, status=422)
    log.info("dashboard.learning_reset household=%s outcomes=%d", household.id, forgotten)
    raise web.HTTPSeeOther(f"/households/{household.id}/sensitivity?reset=1")
