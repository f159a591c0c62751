"""Every typed application and request key of the dashboard, in one place."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from dashboard.cost_cache import CostCache
from dashboard.disaster_desk import DisasterDesk
from dashboard.events import OverviewBroadcaster
from dashboard.sessions import SqliteSessionStorage
from dashboard.users import User, UserStore
from dashboard.views import ActivitySource, CareRecords, StateClassifier
from mimamori.clock import Clock
from mimamori.config import DashboardConfig

CONFIG: Final = web.AppKey[DashboardConfig]("config")
CLOCK: Final = web.AppKey[Clock]("clock")
USERS: Final = web.AppKey[UserStore]("users")
SESSIONS: Final = web.AppKey[SqliteSessionStorage]("sessions")
ACTIVITY: Final = web.AppKey[ActivitySource]("activity")
RECORDS: Final = web.AppKey[CareRecords]("records")
CLASSIFY: Final = web.AppKey[StateClassifier]("classify")
BROADCASTER: Final = web.AppKey[OverviewBroadcaster]("broadcaster")
COSTS: Final = web.AppKey[CostCache]("costs")  # the sensitivity page's cost tables
DISASTER: Final = web.AppKey[DisasterDesk]("disaster")  # absent: no disaster check page

# per request, set by the middlewares
USER: Final = web.RequestKey[User | None]("user")
LANG: Final = web.RequestKey[str]("lang")
CSRF: Final = web.RequestKey[str]("csrf")
NONCE: Final = web.RequestKey[str]("nonce")
