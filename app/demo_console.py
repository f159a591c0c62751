"""What the demo tells the person watching it: lines that stay, one status line, progress of long work.

On a terminal the status line is redrawn in place and long work shows a progress bar (``rich``);
when the output is piped (a log file, a test), every line is printed plainly, the status line once
every few seconds, and nothing is wrapped or coloured.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

T = TypeVar("T")

PLAIN_STATUS_EVERY_S = 5.0


class DemoConsole:
    """The demo's narration on ``stream`` (standard output by default)."""

    def __init__(self, stream: TextIO | None = None, *, terminal: bool | None = None) -> None:
        self._stream = stream or sys.stdout
        self.terminal = self._stream.isatty() if terminal is None else terminal
        self._rich = Console(
            file=self._stream, force_terminal=self.terminal, markup=False, highlight=False, soft_wrap=True
        )
        self._live: Live | None = None
        self._last_plain_status = -PLAIN_STATUS_EVERY_S

    def say(self, line: str) -> None:
        """A line that stays (above the status line on a terminal)."""
        if self.terminal:
            self._rich.print(Text(line))
        else:
            print(line, file=self._stream, flush=True)

    def status(self, line: str) -> None:
        """The one live status line: redrawn in place, or printed every few seconds when piped."""
        if self.terminal:
            if self._live is None:
                self._live = Live(Text(line), console=self._rich, refresh_per_second=4, transient=True)
                self._live.start()
            else:
                self._live.update(Text(line))
            return
        now = time.monotonic()
        if now - self._last_plain_status >= PLAIN_STATUS_EVERY_S:
            self._last_plain_status = now
            print(line, file=self._stream, flush=True)

    def close(self) -> None:
        """Remove the status line (a terminal keeps only the lines that stay)."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def track(self, items: Iterable[T], total: int, description: str) -> Iterator[T]:
        """``items``, with a progress bar on a terminal and one plain line when piped."""
        if not self.terminal:
            self.say(f"{description} ...")
            yield from items
            return
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=self._rich, transient=True) as progress:
            task = progress.add_task(description, total=total)
            for item in items:
                yield item
                progress.advance(task)
