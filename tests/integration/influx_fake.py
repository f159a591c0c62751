"""A local InfluxDB 2.x look-alike for the adapter's tests (aiohttp).

It checks what a real server checks (token, org, bucket, line protocol), stores points with
InfluxDB's upsert semantics (same series and time: fields merged), answers the adapter's Flux
queries (recognised by their ``// mimamori:<name>`` comment) from what was written, as annotated
CSV, and can be told to fail the next writes with 429 or 5xx. The same tests run against a real
InfluxDB when ``MIMAMORI_TEST_INFLUX_URL`` is set (docs/storage.md).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

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
    queries: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/v2/write", self.write)
        app.router.add_post("/api/v2/query", self.query)
        return app

    # ------------------------------------------------------------------ checks

    def _check(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Token {self.token}":
            return _error(401, "unauthorized", "unauthorized access")
        if request.query.get("org") != self.org:
            return _error(404, "not found", f'organization name "{request.query.get("org")}" not found')
        return None

    async def write(self, request: web.Request) -> web.Response:
        if (refused := self._check(request)) is not None:
            return refused
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

    async def query(self, request: web.Request) -> web.Response:
        if (refused := self._check(request)) is not None:
            return refused
        body = await request.json()
        flux: str = body["query"]
        self.queries.append(flux)
        match = re.match(r"// mimamori:(\w+)\n", flux)
        if match is None or f'from(bucket: "{self.bucket}")' not in flux:
            return _error(400, "invalid", "the fake only answers the adapter's queries")
        rows = getattr(self, f"_q_{match.group(1)}")(flux)
        return web.Response(text=annotated_csv(rows), content_type="text/csv")

    # ------------------------------------------------------------------ the adapter's queries

    def _rows(self, measurement: str, flux: str) -> list[dict[str, Any]]:
        """Points of a measurement as pivoted rows (tags + fields + _time), filtered like the query."""
        start, stop = _range(flux)
        households = set(re.findall(r'r\.household == "([^"]+)"', flux))
        if m := re.search(r"set: \[([^\]]*)\]", flux):
            households |= set(re.findall(r'"([^"]+)"', m.group(1)))
        rows = []
        for ((name, tags), at), fields in self.points.items():
            time = EPOCH + timedelta(microseconds=at // 1000)
            if name != measurement or not start <= time < stop:
                continue
            row = dict(tags) | fields | {"_time": time}
            if households and row.get("household") not in households:
                continue
            rows.append(row)
        return sorted(rows, key=lambda r: r["_time"])

    @staticmethod
    def _last(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
        newest: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in rows:
            newest[tuple(row.get(k) for k in keys)] = row
        return list(newest.values())

    def _q_last_power(self, flux: str) -> list[dict[str, Any]]:
        rows = [r for r in self._rows("event", flux) if r["kind"] == "power"]
        return [
            _pick(r, "_time", "household", "device", "value", "kind")
            for r in self._last(rows, "household", "device")
        ]

    def _q_power_before(self, flux: str) -> list[dict[str, Any]]:
        m = re.search(r'r\.device == "([^"]+)"', flux)
        assert m is not None
        rows = [r for r in self._rows("event", flux) if r["kind"] == "power" and r["device"] == m.group(1)]
        return [_pick(r, "_time", "household", "device", "value", "kind") for r in rows[-1:]]

    def _q_count_events(self, flux: str) -> list[dict[str, Any]]:
        return [{"_value": len(self._rows("event", flux))}]

    def _q_last_activity(self, flux: str) -> list[dict[str, Any]]:
        rows = self._last(self._rows("activity", flux), "household")
        return [{"_time": r["_time"], "_value": r["device"], "household": r["household"]} for r in rows]

    def _q_last_event(self, flux: str) -> list[dict[str, Any]]:
        rows = self._last(self._rows("event", flux), "household")
        return [{"_time": r["_time"], "_value": r["id"], "household": r["household"]} for r in rows]

    def _q_hourly_activity(self, flux: str) -> list[dict[str, Any]]:
        counts: dict[tuple[str, datetime], int] = defaultdict(int)
        for r in self._rows("activity", flux):
            counts[(r["kind"], r["_time"].replace(minute=0, second=0, microsecond=0))] += 1
        return [{"_time": hour, "kind": kind, "_value": n} for (kind, hour), n in counts.items()]

    def _q_activity_times(self, flux: str) -> list[dict[str, Any]]:
        return [{"_time": r["_time"]} for r in self._rows("activity", flux)]

    def _q_events(self, flux: str) -> list[dict[str, Any]]:
        return [
            _pick(r, "_time", "household", "kind", "device", "gateway", "value", "id", "seq")
            for r in self._rows("event", flux)
        ]

    def _q_button_presses(self, flux: str) -> list[dict[str, Any]]:
        rows = [r for r in self._rows("event", flux) if r["kind"] == "button" and r["value"] >= 1]
        return [_pick(r, "_time", "household", "device") for r in rows]

    def _q_devices(self, flux: str) -> list[dict[str, Any]]:
        rows = self._last(self._rows("event", flux), "household", "device", "kind")
        return [_pick(r, "_time", "household", "device", "kind", "value") for r in rows]

    def _q_gateway_status(self, flux: str) -> list[dict[str, Any]]:
        rows = self._last(self._rows("gateway", flux), "household", "gateway")
        return [
            {"_time": r["_time"], "_value": r["state"], "household": r["household"], "gateway": r["gateway"]}
            for r in rows
        ]

    def _q_gateway_heartbeat(self, flux: str) -> list[dict[str, Any]]:
        rows = self._last(self._rows("heartbeat", flux), "household", "gateway")
        return [
            {"_time": r["_time"], "_value": r["seq"], "household": r["household"], "gateway": r["gateway"]}
            for r in rows
        ]


def _pick(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: row[k] for k in keys}


def _range(flux: str) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    m = re.search(r"range\(start: ([^,)]+)(?:, stop: ([^)]+))?\)", flux)
    assert m is not None, flux
    raw_start, raw_stop = m.group(1), m.group(2)
    if raw_start == "0":
        start = datetime(1970, 1, 1, tzinfo=UTC)
    elif d := re.fullmatch(r"-(\d+)d", raw_start):
        start = now - timedelta(days=int(d.group(1)))
    else:
        start = datetime.fromisoformat(raw_start)
    stop = datetime.fromisoformat(raw_stop) if raw_stop else now + timedelta(days=1)
    return start, stop


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


# --------------------------------------------------------------------------- answers


def annotated_csv(rows: list[dict[str, Any]]) -> str:
    """Rows as InfluxDB's annotated CSV (one table)."""
    columns = ["result", "table", *sorted({k for row in rows for k in row})]
    kinds = {c: _datatype([row.get(c) for row in rows]) for c in columns[2:]}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["#datatype", "string", "long", *(kinds[c] for c in columns[2:])])
    writer.writerow(["#group", "false", "false", *("false" for _ in columns[2:])])
    writer.writerow(["#default", "_result", "", *("" for _ in columns[2:])])
    writer.writerow(["", *columns])
    for row in rows:
        writer.writerow(["", "", "0", *(_cell(row.get(c)) for c in columns[2:])])
    return out.getvalue() + "\r\n"


def _datatype(values: list[Any]) -> str:
    sample = next((v for v in values if v is not None), "")
    if isinstance(sample, datetime):
        return "dateTime:RFC3339Nano"
    if isinstance(sample, bool):
        return "boolean"
    if isinstance(sample, int):
        return "long"
    if isinstance(sample, float):
        return "double"
    return "string"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps({"code": code, "message": message}),
        content_type="application/json",
        headers=headers,
    )
