"""A mosquitto process that the demo and the tests start on a free port, with a generated config."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path

from mimamori.contract import MAX_MESSAGE_BYTES


class BrokerError(Exception):
    """mosquitto is missing or did not start."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mosquitto_path() -> str:
    path = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )
    if path is None:
        raise BrokerError("mosquitto is not installed: run 'sudo apt-get install -y mosquitto'")
    return path


class MosquittoProcess:
    """One mosquitto listening on 127.0.0.1:``port`` with persistence in ``data_dir``.

    The port and persistence survive :meth:`kill` / :meth:`start`, so a restarted broker still has
    its retained messages and persistent sessions.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        extra_config: str = "",
        allow_anonymous: bool = True,
        autosave_interval_s: int = 1,
    ) -> None:
        """``autosave_interval_s``: how often mosquitto saves its persistence (tests of a broker killed
        between saves set it long, as a production broker has it)."""
        self.data_dir = data_dir
        self._autosave_s = autosave_interval_s
        self.port = port or free_port()
        self._extra = extra_config
        self._allow_anonymous = allow_anonymous
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.data_dir / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "mosquitto.log"

    def write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    f"allow_anonymous {'true' if self._allow_anonymous else 'false'}",
                    f"user {getpass.getuser()}",
                    "persistence true",
                    f"persistence_location {self.data_dir}/",
                    f"autosave_interval {self._autosave_s}",
                    f"message_size_limit {MAX_MESSAGE_BYTES}",
                    "max_queued_messages 0",
                    "max_inflight_messages 0",
                    "persistent_client_expiration 7d",
                    f"log_dest file {self.log_path}",
                    "log_type error",
                    "log_type warning",
                    "log_type notice",
                    self._extra,
                    "",
                ]
            )
        )

    def start(self, timeout_s: float = 10.0) -> None:
        self.write_config()
        self._proc = subprocess.Popen(
            [mosquitto_path(), "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C stops its owner, which stops it after the clients left
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                raise BrokerError(f"mosquitto exited with {self._proc.returncode}: {err.strip()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise BrokerError(f"mosquitto did not listen on {self.port} within {timeout_s}s")

    def stop(self) -> None:
        """Graceful stop: mosquitto saves its persistence file."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
        self._close()

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=10)
        self._close()

    def _close(self) -> None:
        if self._proc is not None and self._proc.stderr is not None:
            self._proc.stderr.close()
        self._proc = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None
