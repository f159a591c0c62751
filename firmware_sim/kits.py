"""Sensor kits: which devices a simulated home has, in which room, and how they are powered.

Real installations vary: a care programme may fit a full kit, a family a single motion sensor and a
door contact. Homes draw a kit by weight, so benchmarks see sparse homes (no bedroom or living-room
motion) as well as rich ones. Any kit may come with room climate sensors (``+climate``: three room
thermometers and the air conditioner on a plug), for a share of the homes a run asks for.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from mimamori.contract import Kind


class HouseRoom(StrEnum):
    """A room of the simulated house (where a simulated sensor looks): not the registry's Room vocabulary."""

    BEDROOM = "bedroom"
    LIVING = "living"
    KITCHEN = "kitchen"
    HALL = "hall"
    TOILET = "toilet"
    BATHROOM = "bathroom"
    OUTSIDE = "outside"


@dataclass(frozen=True, slots=True)
class Device:
    """One sensor. ``room`` is where a motion sensor looks or a door/plug sits."""

    id: str
    kind: Kind
    room: HouseRoom
    battery: bool
    checkin_s: int
    """Period of the device's own "still alive" report (Zigbee sensors ~50 min, plugs 5 min teleperiod)."""


def _motion(room: HouseRoom) -> Device:
    return Device(f"{room.value}-motion", Kind.MOTION, room, battery=True, checkin_s=3000)


def _door(name: str, room: HouseRoom) -> Device:
    return Device(name, Kind.DOOR, room, battery=True, checkin_s=3000)


def _presence(room: HouseRoom) -> Device:
    """An mmWave presence sensor (mains powered): occupied while the person is in the room, moving or not."""
    return Device(f"{room.value}-presence", Kind.OCCUPANCY, room, battery=False, checkin_s=3000)


def _plug(name: str, room: HouseRoom) -> Device:
    return Device(name, Kind.POWER, room, battery=False, checkin_s=3600)


BEDROOM_MOTION: Final = _motion(HouseRoom.BEDROOM)
LIVING_MOTION: Final = _motion(HouseRoom.LIVING)
KITCHEN_MOTION: Final = _motion(HouseRoom.KITCHEN)
HALL_MOTION: Final = _motion(HouseRoom.HALL)
TOILET_MOTION: Final = _motion(HouseRoom.TOILET)
BATHROOM_MOTION: Final = _motion(HouseRoom.BATHROOM)  # in the changing room: sees going in and coming out
MAIN_DOOR: Final = _door("main-door", HouseRoom.HALL)
FRIDGE_DOOR: Final = _door("fridge-door", HouseRoom.KITCHEN)
TOILET_DOOR: Final = _door("toilet-door", HouseRoom.TOILET)
KETTLE: Final = _plug("kettle", HouseRoom.KITCHEN)
MICROWAVE: Final = _plug("microwave", HouseRoom.KITCHEN)
TV: Final = _plug("tv", HouseRoom.LIVING)
HELP_BUTTON: Final = Device("help-button", Kind.BUTTON, HouseRoom.LIVING, battery=True, checkin_s=3000)
BATHROOM_PRESENCE: Final = _presence(HouseRoom.BATHROOM)
TOILET_PRESENCE: Final = _presence(HouseRoom.TOILET)
KITCHEN_PRESENCE: Final = _presence(HouseRoom.KITCHEN)
LIVING_PRESENCE: Final = _presence(HouseRoom.LIVING)
BED_PAD: Final = Device("bed-pad", Kind.OCCUPANCY, HouseRoom.BEDROOM, battery=True, checkin_s=3000)
"""A pressure pad under the mattress: occupied while the person is in bed (asleep, napping, lying in)."""
ROOM_THERMOMETERS: Final = tuple(
    Device(f"{room.value}-temp", Kind.TEMPERATURE, room, battery=True, checkin_s=3000)
    for room in (HouseRoom.LIVING, HouseRoom.BEDROOM, HouseRoom.BATHROOM)
)
"""Temperature and humidity sensors (firmware_sim.climate reports both, every 5 minutes)."""
AIRCON: Final = _plug("aircon", HouseRoom.LIVING)
"""The air conditioner on a metering plug (it also heats in winter)."""


@dataclass(frozen=True, slots=True)
class Kit:
    name: str
    devices: tuple[Device, ...]

    def has(self, device_id: str) -> bool:
        return any(d.id == device_id for d in self.devices)

    @property
    def climate(self) -> bool:
        """Whether the kit has room thermometers (firmware_sim.climate then reports the rooms)."""
        return any(d.kind is Kind.TEMPERATURE for d in self.devices)

    def with_climate(self) -> Kit:
        """This kit with room thermometers and the air conditioner on a plug (appended, so the other
        devices draw the same phases as without)."""
        if self.climate:
            return self
        return Kit(self.name + CLIMATE_SUFFIX, (*self.devices, *ROOM_THERMOMETERS, AIRCON))

    def motion_in(self, room: HouseRoom) -> Device | None:
        return next((d for d in self.devices if d.kind is Kind.MOTION and d.room is room), None)

    @property
    def sees_evening(self) -> bool:
        """Whether a sensor watches where evenings are spent (living room or bedroom); kits that
        do not are the ones the evening check is for (docs/detection.md)."""
        return any(sees_evening(d.kind, d.room) for d in self.devices)


def sees_evening(kind: Kind, room: HouseRoom) -> bool:
    """Whether a device of this kind in this room sees the resident's evenings (a help button does not)."""
    return kind not in (Kind.BUTTON, Kind.TEMPERATURE) and room in (HouseRoom.LIVING, HouseRoom.BEDROOM)


KITS: Final = (
    Kit(
        "full",
        (
            BEDROOM_MOTION,
            LIVING_MOTION,
            KITCHEN_MOTION,
            HALL_MOTION,
            TOILET_MOTION,
            BATHROOM_MOTION,
            MAIN_DOOR,
            FRIDGE_DOOR,
            TOILET_DOOR,
            KETTLE,
            MICROWAVE,
            TV,
            HELP_BUTTON,
        ),
    ),
    Kit(
        "standard",
        (LIVING_MOTION, KITCHEN_MOTION, HALL_MOTION, MAIN_DOOR, FRIDGE_DOOR, KETTLE, TV, HELP_BUTTON),
    ),
    Kit("sparse", (HALL_MOTION, MAIN_DOOR, FRIDGE_DOOR, KETTLE, HELP_BUTTON)),
    Kit("minimal", (KITCHEN_MOTION, MAIN_DOOR, KETTLE)),
)
KIT_WEIGHTS: Final = (3, 4, 2, 1)
PRESENCE_KIT: Final = Kit(
    "presence",
    (*KITS[0].devices, BATHROOM_PRESENCE, TOILET_PRESENCE, KITCHEN_PRESENCE, LIVING_PRESENCE, BED_PAD),
)
"""The full kit with presence sensors and a bed pad: optional (named, never drawn), so homes drawn
without it are the same as before."""
CLIMATE_SUFFIX: Final = "+climate"
KITS_BY_NAME: Final = {k.name: k for kit in (*KITS, PRESENCE_KIT) for k in (kit, kit.with_climate())}
"""Every kit by name, and each with room climate sensors (``full+climate``, ...)."""


def draw_kit(rng: random.Random) -> Kit:
    """A kit by weight; a "standard" kit sometimes lacks one of its sensors (never the main door)."""
    kit = rng.choices(KITS, weights=KIT_WEIGHTS)[0]
    if kit.name == "standard" and rng.random() < 0.4:
        droppable = [d for d in kit.devices if d is not MAIN_DOOR]
        dropped = rng.choice(droppable)
        kit = Kit("standard-" + dropped.id, tuple(d for d in kit.devices if d is not dropped))
    return kit
