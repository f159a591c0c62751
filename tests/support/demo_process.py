"""Drive ``mimamori demo`` (and the commands people run beside it) as real processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from app.mosquitto import free_port

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "demo-password-for-tests"


class DemoProcess:
    """``mimamori demo`` in ``workdir`` on free ports; its stdout is read line by line."""

    def __init__(self, workdir: Path, *args: str) -> None:
        self.workdir = workdir
        self.args = args
        alerts_port, dashboard_port = free_port(), free_port()
        self.dashboard_url = f"http://127.0.0.1:{dashboard_port}"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "MIMAMORI_DEMO_PASSWORD": PASSWORD,
            "MIMAMORI__ALERTS__HTTP_PORT": str(alerts_port),
            "MIMAMORI__ALERTS__PUBLIC_URL": f"http://127.0.0.1:{alerts_port}",
            "MIMAMORI__DASHBOARD__PORT": str(dashboard_port),
        }
        self.lines: list[str] = []
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "mimamori",
            "--log-level",
            "WARNING",
            "demo",
            *self.args,
            cwd=self.workdir,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )

    async def expect(self, pattern: str, timeout_s: float = 120.0) -> re.Match[str]:
        """Read output until a line matches ``pattern`` (earlier lines are kept in ``lines``)."""
        for line in self.lines:
            if found := re.search(pattern, line):
                return found
        assert self._proc is not None
        assert self._proc.stdout is not None
        async with asyncio.timeout(timeout_s):
            while raw := await self._proc.stdout.readline():
                line = raw.decode(errors="replace").rstrip("\n")
                self.lines.append(line)
                if found := re.search(pattern, line):
                    return found
        raise AssertionError(f"demo exited before printing {pattern!r}:\n" + "\n".join(self.lines[-40:]))

    async def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run another ``mimamori`` command in the demo's directory, as a person would."""
        return await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "mimamori", *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    async def interrupt(self) -> tuple[int, float, list[str]]:
        """Ctrl-C: the exit code, the real seconds until the process ended, and what it printed after
        ``stopping ...`` (standard error included)."""
        assert self._proc is not None
        loop = asyncio.get_running_loop()
        sent = loop.time()
        self._proc.send_signal(2)
        await self.expect("stopping", timeout_s=30)
        assert self._proc.stdout is not None
        after = (await self._proc.stdout.read()).decode(errors="replace").splitlines()
        self.lines.extend(after)
        code = await asyncio.wait_for(self._proc.wait(), 30)
        return code, loop.time() - sent, after

    async def finish(self, timeout_s: float) -> int:
        """Read every line until the demo exits on its own, then its exit code."""
        assert self._proc is not None
        assert self._proc.stdout is not None
        async with asyncio.timeout(timeout_s):
            while raw := await self._proc.stdout.readline():
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            return await self._proc.wait()

    async def kill(self) -> None:
        """SIGKILL to the demo and its children (its mosquitto runs in a session of its own, so that
        Ctrl-C reaches the demo alone): a test that fails leaves no broker behind."""
        if self._proc is not None and self._proc.returncode is None:
            pgrep = await asyncio.create_subprocess_exec(
                "pgrep", "-P", str(self._proc.pid), stdout=asyncio.subprocess.PIPE
            )
            children, _ = await pgrep.communicate()
            self._proc.kill()
            for child in map(int, children.split()):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
            await self._proc.wait()
