"""The dashboard's app factory: middlewares, routes, templates, static files and lifecycles."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from aiohttp import web
from aiohttp_session import session_middleware

from dashboard import keys
from dashboard.cost_cache import CostCache
from dashboard.disaster_desk import DisasterDesk
from dashboard.events import OverviewBroadcaster
from dashboard.pages import (
    admin_households,
    admin_users,
    api,
    away,
    digest_page,
    disaster_page,
    editing,
    home,
    household_page,
    incidents,
    sensitivity,
    signin,
    two_factor,
    volunteer_settings,
    volunteers_page,
)
from dashboard.render import setup_templates
from dashboard.security import csrf_protect, identify, require_sign_in, security_headers
from dashboard.sessions import SqliteSessionStorage
from dashboard.users import UserStore
from dashboard.views import ActivitySource, CareRecords, StateClassifier
from mimamori.clock import Clock
from mimamori.config import DashboardConfig

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
PRUNE_EVERY_S = 600.0


def create_app(
    config: DashboardConfig,
    *,
    users: UserStore,
    activity: ActivitySource,
    records: CareRecords,
    classify: StateClassifier,
    clock: Clock,
    disasters: DisasterDesk | None = None,
) -> web.Application:
    """The dashboard. ``users`` must be open; the caller owns (opens and closes) every store passed in.

    Serve it with ``handler_cancellation=True``: a live-update stream then ends as soon as its browser
    goes away instead of at the next tick.
    """
    storage = SqliteSessionStorage(
        users,
        clock,
        timedelta(hours=config.session_hours),
        secure=config.secure_cookies,
        idle=timedelta(minutes=config.idle_minutes),
    )
    app = web.Application(
        middlewares=[security_headers, session_middleware(storage), identify, csrf_protect, require_sign_in],
        client_max_size=64 * 1024,
    )
    app[keys.CONFIG] = config
    app[keys.CLOCK] = clock
    app[keys.USERS] = users
    app[keys.SESSIONS] = storage
    app[keys.ACTIVITY] = activity
    app[keys.RECORDS] = records
    app[keys.CLASSIFY] = classify
    if disasters is not None:
        app[keys.DISASTER] = disasters
    costs = CostCache()
    app[keys.COSTS] = costs
    broadcaster = OverviewBroadcaster(config.live_interval_s)
    app[keys.BROADCASTER] = broadcaster
    setup_templates(app)
    for module in (
        signin,
        two_factor,
        home,
        household_page,
        incidents,
        editing,
        sensitivity,
        away,
        digest_page,
        disaster_page,
        api,
        admin_users,
        admin_households,
    ):
        app.router.add_routes(module.routes)
    app.router.add_routes(volunteers_page.routes)
    app.router.add_routes(volunteer_settings.routes)
    app.router.add_static("/static/", STATIC_DIR, name="static")
    app.cleanup_ctx.append(broadcaster.cleanup_ctx)
    app.on_shutdown.append(broadcaster.on_shutdown)
    app.cleanup_ctx.append(_prune_sessions)
    app.cleanup_ctx.append(costs.cleanup_ctx)
    return app


async def _prune_sessions(app: web.Application) -> AsyncIterator[None]:
    """Deletes expired sessions and old failed-login records every few minutes."""
    config = app[keys.CONFIG]
    keep_ms = config.login_window_minutes * 60_000

    async def prune() -> None:
        while True:
            gone = app[keys.USERS].prune(app[keys.CLOCK].now(), keep_ms)
            if gone:
                log.info("dashboard.sessions_pruned rows=%s", gone)
            await asyncio.sleep(PRUNE_EVERY_S)  # housekeeping period, not synchronisation

    task = asyncio.create_task(prune(), name="dashboard-prune")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
