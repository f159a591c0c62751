"""The SQLite outbox: durable, ordered, never reusing a sequence number, bounded with a stated policy."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from gateway.outbox import FullPolicy, Outbox


def enc(item: str, seq: int) -> bytes:
    return json.dumps({"item": item, "seq": seq}).encode()


def payloads(rows: list[tuple[int, str, bytes, int | None]]) -> list[tuple[str, int]]:
    for _, _, p, seq in rows:
        assert json.loads(p)["seq"] == seq  # the row carries its event's seq
    return [(json.loads(p)["item"], json.loads(p)["seq"]) for _, _, p, _ in rows]


def test_put_peek_delete_and_sequence_survive_reopening(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3")
    box.open()
    assert box.put_many("t", ["a", "b", "c"], enc) == 3
    rows = box.peek_after(0, 10)
    assert payloads(rows) == [("a", 1), ("b", 2), ("c", 3)]
    box.delete([rows[0][0]])
    box.close()
    again = Outbox(tmp_path / "o.sqlite3")
    again.open()
    assert again.depth() == 2
    again.put_many("t", ["d"], enc)
    assert payloads(again.peek_after(0, 10)) == [("b", 2), ("c", 3), ("d", 4)]
    again.delete([r[0] for r in again.peek_after(0, 10)])
    again.put_many("t", ["e"], enc)
    assert payloads(again.peek_after(0, 10)) == [("e", 5)]  # a sequence number is never reused
    again.close()


def test_live_and_backlog_lanes_split_at_the_floor(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3")
    box.open()
    box.put_many("t", ["old1", "old2"], enc)
    floor = box.max_id()
    box.put_many("t", ["new"], enc)
    assert [p[0] for p in payloads(box.peek_upto(floor, 10))] == ["old1", "old2"]
    assert [p[0] for p in payloads(box.peek_after(floor, 10))] == ["new"]
    assert box.peek_upto(floor, 0) == []
    box.close()


@pytest.mark.allow_error_logs
def test_full_outbox_drops_the_oldest_counts_and_logs_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    box = Outbox(tmp_path / "o.sqlite3", max_events=5)
    box.open()
    with caplog.at_level(logging.WARNING, logger="gateway.outbox"):
        box.put_many("t", [f"e{n}" for n in range(4)], enc)
        box.put_many("t", ["e4", "e5", "e6"], enc)
        box.put_many("t", ["e7"], enc)
    assert [p[0] for p in payloads(box.peek_after(0, 10))] == ["e3", "e4", "e5", "e6", "e7"]
    assert box.depth() == 5
    assert box.dropped == 3
    full = [r for r in caplog.records if "gateway.outbox_full" in r.getMessage()]
    assert [r.levelno for r in full] == [logging.ERROR]
    box.delete([r[0] for r in box.peek_after(0, 3)])
    assert any("gateway.outbox_recovered" in r.getMessage() for r in caplog.records)
    box.close()


@pytest.mark.allow_error_logs
def test_full_outbox_can_refuse_new_readings_instead(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3", max_events=3, policy=FullPolicy.REFUSE_NEW)
    box.open()
    assert box.put_many("t", ["a", "b"], enc) == 2
    assert box.put_many("t", ["c", "d", "e"], enc) == 1
    assert [p[0] for p in payloads(box.peek_after(0, 10))] == ["a", "b", "c"]
    assert box.dropped == 2
    box.close()


@pytest.mark.allow_error_logs
def test_a_batch_bigger_than_the_outbox_keeps_its_newest(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3", max_events=2)
    box.open()
    box.put_many("t", ["a"], enc)
    box.put_many("t", ["b", "c", "d"], enc)
    assert [p[0] for p in payloads(box.peek_after(0, 10))] == ["c", "d"]
    assert box.dropped == 2
    box.close()


def test_an_encoding_error_rolls_the_batch_back(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3")
    box.open()

    def explode(item: str, seq: int) -> bytes:
        if item == "bad":
            raise ValueError("cannot encode")
        return enc(item, seq)

    with pytest.raises(ValueError, match="cannot encode"):
        box.put_many("t", ["ok", "bad"], explode)
    assert box.depth() == 0
    box.put_many("t", ["ok"], enc)
    assert payloads(box.peek_after(0, 10)) == [("ok", 1)]
    box.close()
