"""InfluxQL over the v1 ``/query`` HTTP API, which InfluxDB 1.8+, 2.x (through a DBRP mapping) and
3.x all answer: the literal escaping, one aiohttp session, and the JSON answer turned into rows.

Nothing here knows Mimamori's schema (``store/influx.py`` does). Raises :class:`StoreError`:
``retryable`` for 429, 5xx, timeouts and connection failures; not for other 4xx answers or an
error in a statement (a query this code got wrong will not get right by asking again).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import aiohttp

from mimamori.contract import ID_RE
from store.base import StoreError

log = logging.getLogger(__name__)

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def string(value: str) -> str:
    """An InfluxQL string literal: single quotes, with backslashes and quotes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def identifier(value: str) -> str:
    """An InfluxQL identifier (database, retention policy, measurement, key), double-quoted."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def checked(household: str) -> str:
    """``household`` if it is a contract id (only ``[a-z0-9_-]``); a non-retryable error otherwise."""
    if not ID_RE.match(household):
        raise StoreError(f"not a household id: {household[:80]!r}", retryable=False)
    return household


def household_is(households: Sequence[str]) -> str:
    """A condition on the ``household`` tag: equality for one, an anchored alternation for many
    (ids are checked, so none carries a regex or ``/`` character)."""
    ids = [checked(h) for h in households]
    if len(ids) == 1:
        return f"household = {string(ids[0])}"
    return "household =~ /^(?:" + "|".join(ids) + ")$/"


def ns(at: datetime) -> int:
    """``at`` as integer nanoseconds since the epoch (InfluxQL compares ``time`` with those)."""
    return (at - EPOCH) // timedelta(microseconds=1) * 1000


def ms_ns(at: datetime) -> int:
    """``at`` rounded to the contract's milliseconds, in nanoseconds."""
    return round(at.timestamp() * 1000) * 1_000_000


def from_ns(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value // 1000)


def ms_floor(value: int) -> datetime:
    """A point time (ns) without the sub-millisecond id offset: the contract's millisecond."""
    return EPOCH + timedelta(milliseconds=value // 1_000_000)


@dataclass(frozen=True, slots=True)
class Series:
    """One series of a statement's answer: its tags (for ``GROUP BY`` tags) and rows by column."""

    name: str
    tags: dict[str, str]
    rows: list[dict[str, Any]]


class InfluxQL:
    """One aiohttp session to a server's v1 query API. :meth:`open` creates it; no I/O before."""

    def __init__(self, url: str, token: str, *, timeout_s: float = 10.0) -> None:
        self._url = url.rstrip("/") + "/query"
        self._headers = {"Authorization": f"Token {token}"} if token else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def query(self, database: str, retention_policy: str, *statements: str) -> list[list[Series]]:
        """Run ``statements`` (one request, ``;``-separated) against ``database``/``retention_policy``;
        one list of series per statement, times as integer nanoseconds."""
        if self._session is None:
            raise StoreError("influx query client is not open", retryable=False)
        form = {"q": ";\n".join(statements), "db": database, "rp": retention_policy, "epoch": "ns"}
        try:
            async with self._session.post(self._url, data=form) as response:
                if response.status >= 300:
                    detail = (await response.text())[:300]
                    raise StoreError(
                        f"influx query failed: {response.status} {detail}",
                        retryable=response.status == 429 or response.status >= 500,
                    )
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise StoreError(f"influx query failed: {exc!r}", retryable=True) from exc
        if not isinstance(body, dict) or "results" not in body:
            raise StoreError(f"influx query answer without results: {str(body)[:300]}", retryable=True)
        answers: list[list[Series]] = []
        for result in body["results"]:
            if "error" in result:
                raise StoreError(f"influx query refused: {result['error']}", retryable=False)
            answers.append(list(_series(result.get("series", ()))))
        if len(answers) != len(statements):
            raise StoreError(
                f"influx answered {len(answers)} of {len(statements)} statements", retryable=True
            )
        return answers


def _series(raw: Sequence[dict[str, Any]]) -> Iterator[Series]:
    for s in raw:
        columns: list[str] = s["columns"]
        yield Series(
            s.get("name", ""),
            dict(s.get("tags") or {}),
            [dict(zip(columns, values, strict=True)) for values in s.get("values", ())],
        )
