"""The demo's narration: plain lines when piped (the status line at most every few seconds), and on
a terminal a status line redrawn in place under the lines that stay."""

from __future__ import annotations

import io

from app.demo_console import DemoConsole


def test_piped_lines_are_plain_and_the_status_line_is_not_repeated_every_second() -> None:
    out = io.StringIO()
    console = DemoConsole(out, terminal=False)
    console.say("[12/03 09:40] home-0003: the resident falls; her sensors go silent (scripted) " + "x" * 120)
    console.status("[12/03 09:41] 240x | events 1")
    console.status("[12/03 09:42] 240x | events 2")  # within the period: not printed
    assert list(console.track([1, 2, 3], 3, "history")) == [1, 2, 3]
    console.close()
    assert out.getvalue().splitlines() == [
        "[12/03 09:40] home-0003: the resident falls; her sensors go silent (scripted) " + "x" * 120,
        "[12/03 09:41] 240x | events 1",
        "history ...",
    ]


def test_on_a_terminal_the_status_line_is_redrawn_and_removed_at_the_end() -> None:
    out = io.StringIO()
    console = DemoConsole(out, terminal=True)
    console.status("status one")
    console.say("a line that stays")
    console.status("status two")
    console.close()
    text = out.getvalue()
    assert "a line that stays" in text
    assert "\x1b[" in text  # cursor control: redrawn in place
