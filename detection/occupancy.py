"""Presence sensors and bed pads: what their occupancy says about a quiet stretch (pure).

A household's occupancy is one small int (a mask): a bit per room (``rooms.INDEX``) whose presence
sensor or pad says *occupied*, a bit once a bed (an occupancy device in the bedroom) is known, and a
bit while the resident is out of that bed at night. Three rules read it (docs/detection.md):

- **lying still**: a presence sensor in a room where people do not lie still (bathroom, toilet,
  kitchen, a hallway: ``baseline.STILL_ROOMS``) stays occupied and nothing moves for longer than the
  longest stretch seen beginning in that room (+ margin): the resident is there and not moving
  (``detector.still_due``);
- **asleep in bed**: the bed occupied while sleep is expected is sleep, judged by the wake-up alone;
- **out of bed at night**: the resident left the bed while sleep is expected and nothing has been
  seen for ``out_of_bed_s`` since, the main door unopened (``detector.community_due``).

A kit without occupancy devices has a mask of 0, and every rule here is then silent.
"""

from __future__ import annotations

from typing import Final

from detection.rooms import INDEX, Room

BED_KNOWN: Final = 1 << 7
"""An occupancy device in the bedroom (a bed pad, or a presence sensor over the bed) has reported."""
OUT_OF_BED: Final = 1 << 8
"""The bed went clear while sleep was expected, and has not been occupied again."""
KNOWN: Final = 1 << 9
"""The home has occupancy devices (the live path reads their state from the store for such homes)."""
BED: Final = 1 << INDEX[Room.BEDROOM]


def occupied_in(mask: int, room: Room) -> bool:
    return bool(mask >> INDEX[room] & 1)


def update(mask: int, room: Room, occupied: bool, asleep_expected: bool) -> int:
    """The mask after an occupancy device in ``room`` reported ``occupied`` (or clear); leaving the bed
    counts as out of bed only while sleep is expected (``asleep_expected``, at the time of the report)."""
    bit = 1 << INDEX[room]
    new = mask | bit if occupied else mask & ~bit
    if room is Room.BEDROOM:
        new |= BED_KNOWN
        if occupied:
            new &= ~OUT_OF_BED
        elif mask & BED and asleep_expected:
            new |= OUT_OF_BED
    return new


def left_bed(old: int, new: int) -> bool:
    """Whether this update is the resident getting out of bed at night (it restarts the quiet stretch)."""
    return bool(new & OUT_OF_BED) and not old & OUT_OF_BED


def still_rooms(mask: int) -> list[Room]:
    """Rooms whose presence sensor says occupied (the bed included)."""
    return [room for room in Room if mask >> INDEX[room] & 1]
