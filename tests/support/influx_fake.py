"""The v2 write endpoint's answers, which the real InfluxDB 1.6 of the tests cannot give (aiohttp).

It checks what a 2.x server checks on ``/api/v2/write`` (token, org, bucket, precision, line
protocol), stores points with InfluxDB's upsert semantics (same series and time: fields merged) so
tests can inspect what was sent, and can be told to fail the next writes with 429 or 5xx. It
answers no queries: everything read is read from the real server (tests/support/influx_server.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web

Value = str | float | int | bool
SeriesKey = tuple[str, tuple[tuple[str, str], ...]]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class FakeInflux:
    token: str
    org: str
    bucket: str
    points: dict[tuple[SeriesKey, int], dict[str, Value]] = field(default_factory=dict)
    write_requests: list[int] = field(default_factory=list)  # lines per accepted request
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # next answers to writes

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/v2/write", self.write)
        return app

    async def write(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Token {self.token}":
            return _error(401, "unauthorized", "unauthorized access")
        if request.query.get("org") != self.org:
            return _error(404, "not found", f'organization name "{request.query.get("org")}" not found')
        if request.query.get("bucket") != self.bucket:
            return _error(404, "not found", f'bucket "{request.query.get("bucket")}" not found')
        if request.query.get("precision") != "ns":
            return _error(400, "invalid", "the adapter writes nanosecond timestamps")
        if self.failures:
            status, headers = self.failures.pop(0)
            return _error(status, "unavailable", "injected failure", headers)
        body = (await request.read()).decode()
        lines = [line for line in body.split("\n") if line]
        try:
            parsed = [parse_line(line) for line in lines]
        except ValueError as exc:
            return _error(400, "invalid", f"unable to parse: {exc}")
        for measurement, tags, fields, at in parsed:
            key = ((measurement, tuple(sorted(tags.items()))), at)
            self.points.setdefault(key, {}).update(fields)
        self.write_requests.append(len(lines))
        return web.Response(status=204)


# --------------------------------------------------------------------------- line protocol


def parse_line(line: str) -> tuple[str, dict[str, str], dict[str, Value], int]:
    """``measurement,tag=v field=v,field="s" 1700000000000000000`` with InfluxDB's escaping."""
    head, rest = _split_unescaped(line, " ", 1)
    measurement, *tag_parts = _split_all(head, ",")
    if not measurement:
        raise ValueError("missing measurement")
    tags = dict(_pair(part) for part in tag_parts)
    fields_raw, _, timestamp = _split_fields(rest)
    if not timestamp.isdigit():
        raise ValueError(f"bad timestamp {timestamp!r}")
    fields: dict[str, Value] = {}
    for part in fields_raw:
        key, raw = _pair(part, keep_quotes=True)
        fields[key] = _field_value(raw)
    if not fields:
        raise ValueError("no fields")
    return _unescape(measurement), tags, fields, int(timestamp)


def _split_unescaped(text: str, sep: str, limit: int) -> list[str]:
    parts, current, escaped = [], "", False
    for ch in text:
        if escaped:
            current += "\\" + ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == sep and len(parts) < limit:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    if len(parts) != limit + 1:
        raise ValueError(f"expected {sep!r} in {text[:60]!r}")
    return parts


def _split_all(text: str, sep: str) -> list[str]:
    return _split_unescaped(text, sep, text.count(sep)) if sep in text else [text]


def _split_fields(text: str) -> tuple[list[str], str, str]:
    """Field set (commas inside quoted strings kept) and the timestamp after the last space."""
    parts, current, quoted, escaped = [], "", False, False
    for i, ch in enumerate(text):
        if escaped:
            current += ch
            escaped = False
            continue
        if ch == "\\":
            current += ch
            escaped = True
        elif ch == '"':
            quoted = not quoted
            current += ch
        elif ch == "," and not quoted:
            parts.append(current)
            current = ""
        elif ch == " " and not quoted:
            parts.append(current)
            return parts, " ", text[i + 1 :]
        else:
            current += ch
    raise ValueError("missing timestamp")


def _pair(part: str, keep_quotes: bool = False) -> tuple[str, str]:
    key, value = _split_unescaped(part, "=", 1)
    return _unescape(key), value if keep_quotes else _unescape(value)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _field_value(raw: str) -> Value:
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        return re.sub(r'\\(["\\])', r"\1", raw[1:-1])
    if raw.endswith("i"):
        return int(raw[:-1])
    if raw in ("t", "T", "true", "True", "TRUE"):
        return True
    if raw in ("f", "F", "false", "False", "FALSE"):
        return False
    return float(raw)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps({"code": code, "message": message}),
        content_type="application/json",
        headers=headers,
    )
