"""Mimamori commands as real processes for system tests: start, read their log, kill, restart."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class MimamoriProcess:
    """``python -m mimamori --log-level DEBUG ARGS...``; every stderr line notifies ``logged``."""

    def __init__(self, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.args = args
        self.env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        self.lines: list[str] = []
        self.logged = asyncio.Condition()
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self, ready: str, timeout_s: float = 30.0) -> None:
        """Start and wait for a log line matching ``ready``."""
        self.lines.clear()
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mimamori", "--log-level", "DEBUG", *self.args,
            cwd=REPO, env=self.env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read())
        await self.wait_for(lambda: any(re.search(ready, line) for line in self.lines), timeout_s)

    async def _read(self) -> None:
        assert self._proc is not None
        assert self._proc.stderr is not None
        while raw := await self._proc.stderr.readline():
            self.lines.append(raw.decode(errors="replace").rstrip())
            async with self.logged:
                self.logged.notify_all()
        async with self.logged:
            self.logged.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 60.0) -> None:
        """Wait until ``predicate()`` holds, checking it again after every line this process logs."""

        async def _wait() -> None:
            async with self.logged:
                await self.logged.wait_for(lambda: predicate() or not self.running)
            if not predicate():
                raise AssertionError(f"{self.name} exited:\n" + "\n".join(self.lines[-30:]))

        try:
            await asyncio.wait_for(_wait(), timeout_s)
        except TimeoutError:
            raise AssertionError(
                f"{self.name}: condition not met; last log:\n" + "\n".join(self.lines[-30:])
            ) from None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def kill(self) -> None:
        """SIGKILL: no clean-up, no MQTT DISCONNECT, no flush."""
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
        await self._reap()

    async def terminate(self) -> int:
        assert self._proc is not None
        if self._proc.returncode is None:
            self._proc.terminate()
        return await self._reap()

    async def _reap(self) -> int:
        code = 0
        if self._proc is not None:
            code = await asyncio.wait_for(self._proc.wait(), 30)
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        return code


def run_once(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A one-shot ``mimamori`` command (an import, a listing), as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "mimamori", *args],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
