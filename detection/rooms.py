"""Rooms: where each device is, given (households file, ``replay --devices``) or inferred from its name.

The room of the last activity says where a quiet stretch began: at the entrance (a door there is the
way out: probably an outing), in the bathroom or toilet (judged against how long the resident usually
stays there), in the bedroom at night (sleep). Rooms are kept per activity as a small code,
``index << 1 | door``, so that a day's history stays a list of ints.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

from registry.models import Room as Room  # the vocabulary: the registry's (re-exported)

CODES: Final = (
    Room.OTHER,
    Room.ENTRANCE,
    Room.LIVING,
    Room.BEDROOM,
    Room.KITCHEN,
    Room.BATHROOM,
    Room.TOILET,
)
"""Room of each code index (``OTHER`` is 0, so a history of plain booleans reads as "other")."""
INDEX: Final = {room: i for i, room in enumerate(CODES)}
DOOR: Final = 1  # the code's lowest bit: the activity was the main door

# Names, first match wins (so ``toilet-door`` is the toilet, ``fridge-door`` the kitchen). Words of 3
# letters or fewer must be a whole word of the name (``tv``, ``wc``, ``bed``); longer ones may be part
# of one (``maindoor``, ``livingroom``). Japanese words, in kana/kanji and in romaji, too.
RULES: Final[tuple[tuple[Room, tuple[str, ...]], ...]] = (
    (Room.TOILET, ("toilet", "wc", "loo", "lavatory", "benjo", "flush", "トイレ", "便所", "便座")),
    (
        Room.BATHROOM,
        ("bath", "shower", "basin", "furo", "yokushitsu", "datsui", "senmen", "浴室", "風呂", "脱衣", "洗面"),
    ),
    (
        Room.ENTRANCE,
        (
            "entrance",
            "entry",
            "genkan",
            "front",
            "main",
            "porch",
            "hall-door",
            "halldoor",
            "house-door",
            "玄関",
        ),
    ),
    (Room.BEDROOM, ("bedroom", "bed", "shinshitsu", "futon", "寝室", "ベッド", "布団")),
    (
        Room.KITCHEN,
        (
            "kitchen",
            "kettle",
            "fridge",
            "cooktop",
            "stove",
            "microwave",
            "toaster",
            "oven",
            "cupboard",
            "pantry",
            "daidokoro",
            "rice",
            "pot",
            "台所",
            "キッチン",
            "冷蔵庫",
            "電子レンジ",
            "ポット",
            "炊飯",
        ),
    ),
    (
        Room.LIVING,
        ("living", "lounge", "sofa", "couch", "tv", "ima", "chanoma", "居間", "リビング", "茶の間", "テレビ"),
    ),
)
_WORDS: Final = re.compile(r"[^0-9a-z\u3040-\u30ff\u4e00-\u9fff]+")


def infer_room(device: str) -> Room:
    """The room a device's name suggests (``pir_living``, ``bathroom-motion``, ``genkan``...), else OTHER."""
    name = device.lower()
    words = set(_WORDS.split(name))
    for room, keys in RULES:
        for key in keys:
            if (key in words) if len(key) <= 3 and key.isascii() else (key in name):
                return room
    return Room.OTHER


def parse_room(text: str) -> Room:
    """A room by its name (``bathroom``); ValueError names the rooms when unknown."""
    try:
        return Room(text.strip().lower())
    except ValueError:
        raise ValueError(f"unknown room {text!r} (one of: {', '.join(r.value for r in Room)})") from None


def is_main_door(kind: str | None, room: Room) -> bool:
    """The way out: activity at the entrance, a door contact or a motion sensor there (``kind`` None:
    not known, as in the store's live changes); a plug at the entrance is never the way out."""
    return room is Room.ENTRANCE and kind != "power"


def code(room: Room, door: bool) -> int:
    return INDEX[room] << 1 | door


def room_of(place: int) -> Room:
    return CODES[place >> 1]


class RoomMap:
    """The rooms of devices: those given for every household (``replay --devices``) or for one (the
    households file's ``devices:``), the rest inferred from names (cached)."""

    def __init__(
        self,
        given: Mapping[str, Room] | None = None,
        households: Mapping[str, Mapping[str, Room]] | None = None,
    ) -> None:
        self._given = dict(given or {})
        self._households = {h: dict(rooms) for h, rooms in (households or {}).items() if rooms}
        self._cache: dict[str, Room] = {}

    def gives(self, household: str) -> bool:
        """Whether rooms are given for some of ``household``'s devices."""
        return household in self._households

    def room(self, device: str, household: str | None = None) -> Room:
        own = self._households.get(household, {}) if household is not None else {}
        found = own.get(device) or self._given.get(device) or self._cache.get(device)
        if found is None:
            found = self._cache[device] = infer_room(device)
        return found

    def place(self, device: str, kind: str | None, household: str | None = None) -> int:
        """The code of an activity of ``device`` (its room, and whether it is the main door)."""
        room = self.room(device, household)
        return code(room, is_main_door(kind, room))


def read_device_rooms(path: Path) -> dict[str, Room]:
    """A ``device,room`` CSV (a header line ``device,room`` is allowed). ValueError names the bad line."""
    with path.open(newline="", encoding="utf-8") as handle:
        return parse_device_rooms(csv.reader(handle))


def parse_device_rooms(rows: Iterable[list[str]]) -> dict[str, Room]:
    rooms: dict[str, Room] = {}
    for line, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        if line == 1 and [c.lower() for c in cells] == ["device", "room"]:
            continue
        if len(cells) != 2 or not cells[0]:
            raise ValueError(f"line {line}: expected device,room")
        try:
            rooms[cells[0]] = parse_room(cells[1])
        except ValueError as exc:
            raise ValueError(f"line {line}: {exc}") from None
    return rooms
