"""A real InfluxDB for the tests: Debian's ``influxd`` (1.6.7, installed by scripts/setup.sh) on free
ports with a temporary data directory, and the one thing it lacks, the v2 write endpoint.

InfluxDB 1.6 answers InfluxQL on ``/query`` and line protocol on ``/write``, but not
``/api/v2/write`` (1.8 added it). :class:`V2WriteShim` is a local aiohttp server in front of it:
``POST /api/v2/write?bucket=db/rp`` → the body, unchanged, to ``/write?db=..&rp=..`` (what 1.8
does with such a bucket) and the real answer back; everything else (``/query``, ``/ping``) is passed
through untouched. So the line protocol ``influxdb-client`` produces is stored by the real server
and read back through the adapter's InfluxQL. A test module imports ``influxd_fixture`` and
``real_influx_fixture`` to use the fixtures ``influxd`` and ``real_influx``.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from app.mosquitto import free_port
from store.influx import InfluxEventStore
from store.influx_schema import InfluxTarget

CONFIG = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{data}/meta"
[data]
  dir = "{data}/data"
  wal-dir = "{data}/wal"
  query-log-enabled = false
  cache-snapshot-write-cold-duration = "10m"
[http]
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
  max-body-size = 0
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
"""


class InfluxdError(Exception):
    """influxd is missing or did not start."""


class InfluxdProcess:
    """One ``influxd run`` on 127.0.0.1 with its config, data and log in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.http_port = free_port()
        self.rpc_port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout_s: float = 30.0) -> None:
        binary = shutil.which("influxd") or "/usr/bin/influxd"
        if not Path(binary).exists():
            raise InfluxdError("influxd is not installed: run scripts/setup.sh (apt-get install -y influxdb)")
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "influxdb.conf"
        config.write_text(
            CONFIG.format(data=self.directory, rpc_port=self.rpc_port, http_port=self.http_port)
        )
        log = (self.directory / "influxd.log").open("wb")
        self._proc = subprocess.Popen([binary, "run", "-config", str(config)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:  # until /ping answers, or the process is gone
            if self._proc.poll() is not None:
                raise InfluxdError(f"influxd exited with {self._proc.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=0.5) as answer:
                    if answer.status == 204:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        raise InfluxdError(f"influxd did not answer /ping within {timeout_s}s: {self.log_tail()}")

    def log_tail(self) -> str:
        path = self.directory / "influxd.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(timeout=20)
        self._proc = None


@dataclass
class V2WriteShim:
    """The v2 write endpoint in front of a 1.x server; keeps every body it forwarded."""

    upstream: str
    bodies: list[bytes] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_post("/api/v2/write", self.write)
        app.router.add_route("*", "/{path:.*}", self.passthrough)
        app.cleanup_ctx.append(self._session)
        return app

    async def _session(self, app: web.Application) -> AsyncIterator[None]:
        self.session = aiohttp.ClientSession()
        yield
        await self.session.close()

    async def write(self, request: web.Request) -> web.Response:
        database, _, policy = request.query.get("bucket", "").partition("/")
        body = await request.read()
        self.bodies.append(body)
        params = {"db": database, "rp": policy, "precision": request.query.get("precision", "ns")}
        async with self.session.post(f"{self.upstream}/write", params=params, data=body) as answer:
            return web.Response(status=answer.status, body=await answer.read(), headers=_content(answer))

    async def passthrough(self, request: web.Request) -> web.Response:
        async with self.session.request(
            request.method,
            f"{self.upstream}/{request.match_info['path']}",
            params=request.query,
            data=await request.read(),
            headers={
                k: v for k, v in request.headers.items() if k.lower() in ("content-type", "authorization")
            },
        ) as answer:
            return web.Response(status=answer.status, body=await answer.read(), headers=_content(answer))


def _content(answer: aiohttp.ClientResponse) -> dict[str, str]:
    kind = answer.headers.get("Content-Type")
    return {"Content-Type": kind} if kind else {}


@dataclass
class RealInflux:
    """The shim's address, a database of this test's own, and the forwarded write bodies."""

    url: str
    target: InfluxTarget
    shim: V2WriteShim
    server: InfluxdProcess

    def store(self, **options: object) -> InfluxEventStore:
        return InfluxEventStore(self.url, "", "-", self.target, **options)  # type: ignore[arg-type]
