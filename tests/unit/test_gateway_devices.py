"""Each device format maps to the right canonical readings: real-looking payloads, table-driven."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from firmware_sim.formats import device_map, encode
from firmware_sim.homes import HouseholdSpec
from firmware_sim.simulate import generate
from gateway.native import Reading
from gateway.outbox import Outbox
from gateway.router import Router, Source
from mimamori.contract import Kind

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")
DEVICES = {
    "hall-motion": (Source.ZIGBEE2MQTT, "0x00158d0004a1b2c3"),
    "main-door": (Source.ZIGBEE2MQTT, "main_door"),
    "kettle": (Source.SHELLY, "shellyplusplugs-a8032ab1c2d4"),
    "tv": (Source.TASMOTA, "tasmota_5A1B2C"),
    "microwave": (Source.ZIGBEE2MQTT, "kitchen_plug"),
    "help-button": (Source.ZIGBEE2MQTT, "sos_button"),
    "fridge-door": (Source.NATIVE, "fridge"),
    "bath-presence": (Source.ZIGBEE2MQTT, "bath_radar"),
    "living-presence": (Source.ZIGBEE2MQTT, "living_fp1"),
    "bedroom-climate": (Source.ZIGBEE2MQTT, "bedroom_th"),
    "living-climate": (Source.SHELLY, "shellyhtg3-84fce63a1b2c"),
    "bed-pad": (Source.SHELLY, "shellyplusi4-c4d8d5a0b1c2"),
    "bath-climate": (Source.TASMOTA, "tasmota_AM2301"),
    "hall-climate": (Source.TASMOTA, "tasmota_SI7021"),
    "genkan-probe": (Source.TASMOTA, "tasmota_DS18B20"),
    "toilet-radar": (Source.TASMOTA, "tasmota_LD2410"),
    "toilet-radar-s": (Source.TASMOTA, "tasmota_LD2410S"),
}
PRESENCE = ("bath-presence", "bed-pad")
"""Configured ``presence = true``: their zigbee2mqtt ``occupancy`` / Shelly input is occupancy."""


def router(**options: object) -> Router:
    return Router(devices_by_id=DEVICES, zone=TOKYO, presence_devices=PRESENCE, **options)  # type: ignore[arg-type]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


CASES = [
    # zigbee2mqtt, Aqara RTCGQ11LM motion sensor with last_seen: ISO_8601
    (
        "zigbee2mqtt/0x00158d0004a1b2c3",
        b'{"battery":100,"illuminance":23,"linkquality":132,"occupancy":true,"voltage":3025,'
        b'"last_seen":"2026-11-26T08:59:58.120Z"}',
        [
            ("hall-motion", Kind.MOTION, 1.0, at("2026-11-26T08:59:58.120Z")),
            ("hall-motion", Kind.BATTERY, 100.0, at("2026-11-26T08:59:58.120Z")),
        ],
    ),
    # Aqara MCCGQ11LM door contact: contact false = open; last_seen as epoch ms
    (
        "zigbee2mqtt/main_door",
        b'{"battery":91,"contact":false,"linkquality":87,"voltage":2985,"last_seen":1795683600000}',
        [
            ("main-door", Kind.DOOR, 1.0, datetime.fromtimestamp(1795683600, UTC)),
            ("main-door", Kind.BATTERY, 91.0, datetime.fromtimestamp(1795683600, UTC)),
        ],
    ),
    ("zigbee2mqtt/main_door", b'{"contact":true}', [("main-door", Kind.DOOR, 0.0, NOW)]),
    # a zigbee plug
    (
        "zigbee2mqtt/kitchen_plug",
        b'{"current":7.12,"energy":12.4,"linkquality":255,"power":812.5,"state":"ON","voltage":101.2}',
        [("microwave", Kind.POWER, 812.5, NOW)],
    ),
    # a button: single/double/long all mean a press; an empty action (z2m clears it) means nothing
    (
        "zigbee2mqtt/sos_button",
        b'{"action":"single","battery":88,"linkquality":90}',
        [("help-button", Kind.BUTTON, 1.0, NOW), ("help-button", Kind.BATTERY, 88.0, NOW)],
    ),
    ("zigbee2mqtt/sos_button", b'{"action":"","linkquality":90}', [("help-button", Kind.CHECKIN, 0.0, NOW)]),
    # a heartbeat with nothing but link quality is a check-in
    ("zigbee2mqtt/0x00158d0004a1b2c3", b'{"linkquality":120}', [("hall-motion", Kind.CHECKIN, 0.0, NOW)]),
    # Shelly Plus Plug S, RPC notification with ts
    (
        "shellyplusplugs-a8032ab1c2d4/events/rpc",
        b'{"src":"shellyplusplugs-a8032ab1c2d4","dst":"shellyplusplugs-a8032ab1c2d4/events",'
        b'"method":"NotifyStatus","params":{"ts":1795683601.52,"switch:0":{"id":0,"apower":1287.3,'
        b'"current":12.9}}}',
        [("kettle", Kind.POWER, 1287.3, datetime(2026, 11, 26, 9, 0, 1, 520000, tzinfo=UTC))],
    ),
    (
        "shellyplusplugs-a8032ab1c2d4/events/rpc",
        b'{"src":"shellyplusplugs-a8032ab1c2d4","method":"NotifyStatus","params":{"ts":1795683601.0,'
        b'"sys":{"uptime":1200}}}',
        [("kettle", Kind.CHECKIN, 0.0, datetime.fromtimestamp(1795683601, UTC))],
    ),
    # Shelly generic status update (no timestamp: the gateway's clock); idle reads slightly negative
    (
        "shellyplusplugs-a8032ab1c2d4/status/switch:0",
        b'{"id":0,"source":"init","output":true,"apower":-0.4,"voltage":100.9,"current":0.012,'
        b'"aenergy":{"total":1250.331,"by_minute":[0.0,0.0,0.0],"minute_ts":1795683600},'
        b'"temperature":{"tC":31.2,"tF":88.2}}',
        [("kettle", Kind.POWER, 0.0, NOW)],
    ),
    # Tasmota (local Time without offset: the household's zone)
    (
        "tele/tasmota_5A1B2C/SENSOR",
        b'{"Time":"2026-11-26T17:59:00","ENERGY":{"TotalStartTime":"2025-03-01T10:11:12","Total":52.123,'
        b'"Yesterday":0.412,"Today":0.201,"Period":2,"Power":86,"ApparentPower":95,"ReactivePower":40,'
        b'"Factor":0.91,"Voltage":101,"Current":0.94}}',
        [("tv", Kind.POWER, 86.0, at("2026-11-26T17:59:00+09:00"))],
    ),
    (
        "tele/tasmota_5A1B2C/STATE",
        b'{"Time":"2026-11-26T17:55:00","Uptime":"3T02:11:09","UptimeSec":267069,"POWER":"ON",'
        b'"Wifi":{"AP":1,"SSId":"home","RSSI":78}}',
        [("tv", Kind.CHECKIN, 0.0, at("2026-11-26T17:55:00+09:00"))],
    ),
    ("stat/tasmota_5A1B2C/POWER", b"ON", [("tv", Kind.CHECKIN, 0.0, NOW)]),
    # native, listed under an address, and unlisted (accepted by default)
    (
        "home/fridge/door",
        b'{"value":1,"ts":"2026-11-26T08:59:00Z"}',
        [("fridge-door", Kind.DOOR, 1.0, at("2026-11-26T08:59:00Z"))],
    ),
    ("home/bedroom-motion/motion", b'{"value":0}', [("bedroom-motion", Kind.MOTION, 0.0, NOW)]),
    # SONOFF SNZB-06P mmWave (says `occupancy`), configured presence = true
    (
        "zigbee2mqtt/bath_radar",
        b'{"occupancy":true,"illumination":"dim","linkquality":120,"last_seen":"2026-11-26T08:59:58.120Z"}',
        [("bath-presence", Kind.OCCUPANCY, 1.0, at("2026-11-26T08:59:58.120Z"))],
    ),
    # Aqara FP1 (says `presence`; its `presence_event` is not a reading): no flag needed
    (
        "zigbee2mqtt/living_fp1",
        b'{"presence":false,"presence_event":"leave","linkquality":98}',
        [("living-presence", Kind.OCCUPANCY, 0.0, NOW)],
    ),
    # Aqara WSDCGQ11LM temperature/humidity: rounded to 0.1 degC and whole percent
    (
        "zigbee2mqtt/bedroom_th",
        b'{"battery":90,"humidity":48.37,"linkquality":57,"pressure":1012.4,"temperature":18.46,"voltage":2985}',
        [
            ("bedroom-climate", Kind.BATTERY, 90.0, NOW),
            ("bedroom-climate", Kind.TEMPERATURE, 18.5, NOW),
            ("bedroom-climate", Kind.HUMIDITY, 48.0, NOW),
        ],
    ),
    # Shelly H&T Gen3, RPC notification (and generic status updates) with temperature:0 / humidity:0
    (
        "shellyhtg3-84fce63a1b2c/events/rpc",
        b'{"src":"shellyhtg3-84fce63a1b2c","dst":"shellyhtg3-84fce63a1b2c/events","method":"NotifyFullStatus",'
        b'"params":{"ts":1795683601.0,"temperature:0":{"id":0,"tC":31.84,"tF":89.3},'
        b'"humidity:0":{"id":0,"rh":62.6},"devicepower:0":{"id":0,"battery":{"V":5.9,"percent":88}}}}',
        [
            ("living-climate", Kind.TEMPERATURE, 31.8, datetime.fromtimestamp(1795683601, UTC)),
            ("living-climate", Kind.HUMIDITY, 63.0, datetime.fromtimestamp(1795683601, UTC)),
        ],
    ),
    (
        "shellyhtg3-84fce63a1b2c/status/temperature:0",
        b'{"id":0,"tC":24.06,"tF":75.3}',
        [("living-climate", Kind.TEMPERATURE, 24.1, NOW)],
    ),
    (
        "shellyhtg3-84fce63a1b2c/status/humidity:0",
        b'{"id":0,"rh":40.2}',
        [("living-climate", Kind.HUMIDITY, 40.0, NOW)],
    ),
    # a probe in error says null: the device is alive, nothing measured
    (
        "shellyhtg3-84fce63a1b2c/status/temperature:0",
        b'{"id":0,"tC":null,"tF":null,"errors":["read"]}',
        [("living-climate", Kind.CHECKIN, 0.0, NOW)],
    ),
    # a bed pad wired to a Shelly Plus i4's first input, configured presence = true
    (
        "shellyplusi4-c4d8d5a0b1c2/status/input:0",
        b'{"id":0,"state":true}',
        [("bed-pad", Kind.OCCUPANCY, 1.0, NOW)],
    ),
    (
        "shellyplusi4-c4d8d5a0b1c2/events/rpc",
        b'{"method":"NotifyStatus","params":{"ts":1795683601.0,"input:0":{"id":0,"state":false}}}',
        [("bed-pad", Kind.OCCUPANCY, 0.0, datetime.fromtimestamp(1795683601, UTC))],
    ),
    # an input of a device not configured presence = true says nothing
    (
        "shellyhtg3-84fce63a1b2c/status/input:0",
        b'{"id":0,"state":true}',
        [("living-climate", Kind.CHECKIN, 0.0, NOW)],
    ),
    # Tasmota climate sensors (local Time without offset)
    (
        "tele/tasmota_AM2301/SENSOR",
        b'{"Time":"2026-11-26T17:59:00","AM2301":{"Temperature":26.7,"Humidity":71.4,"DewPoint":21.1},'
        b'"TempUnit":"C"}',
        [
            ("bath-climate", Kind.TEMPERATURE, 26.7, at("2026-11-26T17:59:00+09:00")),
            ("bath-climate", Kind.HUMIDITY, 71.0, at("2026-11-26T17:59:00+09:00")),
        ],
    ),
    (
        "tele/tasmota_SI7021/SENSOR",
        b'{"Time":"2026-11-26T17:59:00","SI7021":{"Temperature":50.0,"Humidity":30.0,"DewPoint":29.0},'
        b'"TempUnit":"F"}',
        [
            ("hall-climate", Kind.TEMPERATURE, 10.0, at("2026-11-26T17:59:00+09:00")),
            ("hall-climate", Kind.HUMIDITY, 30.0, at("2026-11-26T17:59:00+09:00")),
        ],
    ),
    (
        "tele/tasmota_DS18B20/SENSOR",
        b'{"Time":"2026-11-26T17:59:00","DS18B20-1":{"Id":"01144A0CB2AA","Temperature":3.25},'
        b'"DS18B20-2":{"Id":"0114AAAAAAAA","Temperature":9.0},"TempUnit":"C"}',
        [("genkan-probe", Kind.TEMPERATURE, 3.2, at("2026-11-26T17:59:00+09:00"))],
    ),
    # HLK radars on Tasmota: LD2410 occupied while any target energy; LD2410S People 2/3
    (
        "tele/tasmota_LD2410/SENSOR",
        b'{"Time":"2026-11-26T17:59:00","LD2410":{"Distance":[0.0,181.0,144.0],"Energy":[0,100]}}',
        [("toilet-radar", Kind.OCCUPANCY, 1.0, at("2026-11-26T17:59:00+09:00"))],
    ),
    (
        "tele/tasmota_LD2410S/SENSOR",
        b'{"Time":"2026-11-26T17:59:00","LD2410S":{"Distance":0.0,"People":1}}',
        [("toilet-radar-s", Kind.OCCUPANCY, 0.0, at("2026-11-26T17:59:00+09:00"))],
    ),
]


@pytest.mark.parametrize(("topic", "payload", "expected"), CASES, ids=[c[0] for c in CASES])
def test_device_formats_map_to_canonical_readings(
    topic: str, payload: bytes, expected: list[tuple[str, Kind, float, datetime]]
) -> None:
    readings = router().handle(topic, payload, NOW)
    assert readings == [Reading(*e) for e in expected]


BAD = [
    ("zigbee2mqtt/0x00158d0004a1b2c3", b"{oops", "malformed_json"),
    ("zigbee2mqtt/0x00158d0004a1b2c3", b"[1,2]", "not_object"),
    ("zigbee2mqtt/0x00158d0004a1b2c3", b'{"occupancy":"yes"}', "wrong_type"),
    ("zigbee2mqtt/0x00158d0004a1b2c3", b'{"battery":140}', "bad_value"),
    ("zigbee2mqtt/0x00158d0004a1b2c3", b'{"occupancy":true,"last_seen":"yesterday"}', "bad_timestamp"),
    ("zigbee2mqtt/someone_elses_sensor", b'{"occupancy":true}', "unknown_device"),
    ("shellyplusplugs-a8032ab1c2d4/events/rpc", b'{"method":"NotifyStatus"}', "missing_field"),
    ("shellyplusplugs-a8032ab1c2d4/status/switch:0", b'{"apower":25000}', "bad_value"),
    ("shellyplus1pm-ffffffffffff/status/switch:0", b'{"apower":5}', "unknown_device"),
    ("tele/tasmota_5A1B2C/SENSOR", b'{"Time":"soon","ENERGY":{"Power":5}}', "bad_timestamp"),
    ("tele/tasmota_5A1B2C/SENSOR", b'{"ENERGY":{"Power":"five"}}', "wrong_type"),
    ("stat/tasmota_5A1B2C/POWER", b"MAYBE", "bad_value"),
    ("zigbee2mqtt/living_fp1", b'{"presence":"yes"}', "wrong_type"),
    ("zigbee2mqtt/bedroom_th", b'{"temperature":85.2}', "bad_value"),
    ("zigbee2mqtt/bedroom_th", b'{"humidity":-4}', "bad_value"),
    ("zigbee2mqtt/bedroom_th", b'{"temperature":"21.5"}', "wrong_type"),
    ("shellyhtg3-84fce63a1b2c/status/temperature:0", b'{"id":0,"tC":-55.0}', "bad_value"),
    ("shellyhtg3-84fce63a1b2c/status/humidity:0", b'{"id":0,"rh":true}', "wrong_type"),
    ("shellyplusi4-c4d8d5a0b1c2/status/input:0", b'{"id":0,"state":1}', "wrong_type"),
    ("tele/tasmota_AM2301/SENSOR", b'{"AM2301":{"Temperature":null,"Humidity":140}}', "bad_value"),
    ("tele/tasmota_LD2410/SENSOR", b'{"LD2410":{"Energy":7}}', "wrong_type"),
    ("home/bath-sensor/occupancy", b'{"value":0.5}', "bad_value"),
    ("home/bath-sensor/temperature", b'{"value":99}', "bad_value"),
    ("home/fridge/smell", b'{"value":1}', "bad_kind"),
    ("home/fridge/motion", b'{"value":7}', "bad_value"),
    ("elsewhere/x", b"{}", "unknown_topic"),
    ("zigbee2mqtt/x", b"x" * 20_000, "oversize"),
]


@pytest.mark.parametrize(("topic", "payload", "reason"), BAD, ids=[f"{b[2]}:{b[0]}" for b in BAD])
def test_bad_messages_are_counted_by_reason_and_never_raise(topic: str, payload: bytes, reason: str) -> None:
    r = router()
    assert r.handle(topic, payload, NOW) == []
    assert dict(r.rejected) == {reason: 1}


def test_rejections_are_logged_once_per_device_but_all_counted(caplog: pytest.LogCaptureFixture) -> None:
    r = router()
    with caplog.at_level(logging.WARNING, logger="gateway.router"):
        for _ in range(5):
            r.handle("zigbee2mqtt/stranger", b'{"occupancy":true}', NOW)
            r.handle("zigbee2mqtt/main_door", b"{bad", NOW)
        r.handle("zigbee2mqtt/another_stranger", b'{"occupancy":true}', NOW)
    assert dict(r.rejected) == {"unknown_device": 6, "malformed_json": 5}
    messages = [rec.getMessage() for rec in caplog.records]
    assert len(messages) == 3, messages
    assert r.handle("zigbee2mqtt/main_door", b'{"contact":false}', NOW)  # the next good one flows


def test_strict_native_refuses_unlisted_devices() -> None:
    r = router(accept_unlisted_native=False)
    assert r.handle("home/fridge/door", b'{"value":1}', NOW)
    assert r.handle("home/intruder/door", b'{"value":1}', NOW) == []
    assert dict(r.rejected) == {"unknown_device": 1}


def test_zigbee2mqtt_cached_state_is_not_news() -> None:
    """With cache_state, a battery report repeats the last occupancy: that is not a new motion."""
    r = router()
    topic = "zigbee2mqtt/0x00158d0004a1b2c3"
    assert [x.kind for x in r.handle(topic, b'{"occupancy":true}', NOW)] == [Kind.MOTION]
    assert [x.kind for x in r.handle(topic, b'{"occupancy":true,"battery":97}', NOW)] == [Kind.BATTERY]
    assert [(x.kind, x.value) for x in r.handle(topic, b'{"occupancy":false}', NOW)] == [(Kind.MOTION, 0.0)]


def test_presence_states_are_news_only_when_they_change() -> None:
    """A radar repeats its state every TelePeriod (every second on an LD2410), a bed pad's Shelly in
    every status: only the change of occupancy is an event. Climate readings all pass (ingest paces them)."""
    r = router()
    radar = "tele/tasmota_LD2410/SENSOR"
    occupied = b'{"LD2410":{"Distance":[120.0,0.0,120.0],"Energy":[40,0]}}'
    assert [x.value for x in r.handle(radar, occupied, NOW)] == [1.0]
    assert r.handle(radar, occupied, NOW) == []
    assert [x.value for x in r.handle(radar, b'{"LD2410":{"Distance":[0,0,0],"Energy":[0,0]}}', NOW)] == [0.0]
    pad = "shellyplusi4-c4d8d5a0b1c2/status/input:0"
    assert [x.value for x in r.handle(pad, b'{"id":0,"state":true}', NOW)] == [1.0]
    assert r.handle(pad, b'{"id":0,"state":true}', NOW) == []
    climate = "zigbee2mqtt/bedroom_th"
    assert len(r.handle(climate, b'{"temperature":18.4}', NOW)) == 1
    assert len(r.handle(climate, b'{"temperature":18.4}', NOW)) == 1
    assert r.take_changes() == {("toilet-radar", "occupancy"): 0.0, ("bed-pad", "occupancy"): 1.0}


def test_occupancy_means_motion_unless_the_device_is_a_presence_sensor() -> None:
    """The same zigbee2mqtt payload is a PIR's motion, or a configured radar's occupancy."""
    payload = b'{"occupancy":true}'
    plain = Router(devices_by_id={"d": (Source.ZIGBEE2MQTT, "x")}, zone=TOKYO)
    radar = Router(devices_by_id={"d": (Source.ZIGBEE2MQTT, "x")}, zone=TOKYO, presence_devices=["d"])
    assert [r.kind for r in plain.handle("zigbee2mqtt/x", payload, NOW)] == [Kind.MOTION]
    assert [r.kind for r in radar.handle("zigbee2mqtt/x", payload, NOW)] == [Kind.OCCUPANCY]
    both = b'{"occupancy":true,"presence":false}'  # a radar saying both: `presence` wins, once
    radar = Router(devices_by_id={"d": (Source.ZIGBEE2MQTT, "x")}, zone=TOKYO, presence_devices=["d"])
    assert [(r.kind, r.value) for r in radar.handle("zigbee2mqtt/x", both, NOW)] == [(Kind.OCCUPANCY, 0.0)]


def test_root_prefix_and_subscriptions() -> None:
    r = router(root="homes/h1")
    assert r.subscriptions() == [
        "homes/h1/home/+/+",
        "homes/h1/zigbee2mqtt/+",
        "homes/h1/+/events/rpc",
        "homes/h1/+/status/switch:0",
        "homes/h1/+/status/temperature:0",
        "homes/h1/+/status/humidity:0",
        "homes/h1/+/status/input:0",
        "homes/h1/tele/+/SENSOR",
        "homes/h1/tele/+/STATE",
        "homes/h1/stat/+/POWER",
    ]
    assert r.handle("homes/h1/zigbee2mqtt/main_door", b'{"contact":false}', NOW)
    assert r.handle("zigbee2mqtt/main_door", b'{"contact":false}', NOW) == []


@pytest.mark.parametrize("fmt", ["native", "zigbee2mqtt", "shelly", "tasmota", "mixed"])
def test_what_the_simulator_publishes_the_gateway_reads_back(fmt: str) -> None:
    result = generate([HouseholdSpec("h1", kit="full")], 1, seed=3)
    home = result.homes[0]
    table = device_map("h1", home.kit, fmt)  # type: ignore[arg-type]
    r = Router(devices_by_id={d: (Source(m["source"]), m["address"]) for d, m in table.items()}, zone=TOKYO)
    got, want = [], []
    for event in result.events:
        for topic, payload in encode(event, "", fmt, home.zone):  # type: ignore[arg-type]
            got += r.handle(topic, payload, NOW)
        want.append(event)
    assert not r.rejected
    plug_tasmota = {d for d, m in table.items() if m["source"] == "tasmota"}
    expected = []
    for e in want:
        observed = e.observed_at
        if e.device in plug_tasmota:
            observed = observed.replace(microsecond=0)  # Tasmota's Time has whole seconds
        expected.append(Reading(e.device, e.kind, e.value, observed))
    if fmt == "native":
        assert got == expected
    else:
        # zigbee2mqtt edges: a repeated occupancy/contact state is dropped, nothing else differs.
        assert set(got) <= set(expected)
        missing = [x for x in expected if x not in set(got)]
        assert all(x.kind in (Kind.MOTION, Kind.DOOR) for x in missing)
        assert len(missing) < 0.05 * len(expected)


def test_zigbee2mqtt_sensor_state_survives_a_restart_through_the_outbox(tmp_path: Path) -> None:
    """A restarted gateway that gets the same cached state again (retained, or the next heartbeat)
    must not report a motion nobody made."""
    topic = "zigbee2mqtt/0x00158d0004a1b2c3"
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.open()
    before = router()
    readings = before.handle(topic, b'{"occupancy":true}', NOW)
    outbox.put_many("t", readings, lambda r, seq: b"x", before.take_changes())
    assert before.take_changes() == {}
    outbox.close()

    outbox.open()
    after = router()
    after.restore_state(outbox.device_state())
    assert [r.kind for r in after.handle(topic, b'{"occupancy":true,"battery":90}', NOW)] == [Kind.BATTERY]
    assert [(r.kind, r.value) for r in after.handle(topic, b'{"occupancy":false}', NOW)] == [
        (Kind.MOTION, 0.0)
    ]
    outbox.close()


def test_the_gateway_configuration_marks_presence_devices() -> None:
    from gateway.cli import router_for
    from mimamori.config import GatewayConfig

    config = GatewayConfig.model_validate(
        {
            "devices": {
                "bath-presence": {"source": "zigbee2mqtt", "address": "bath_radar", "presence": True},
                "hall-motion": {"source": "zigbee2mqtt", "address": "hall_pir"},
            }
        }
    )
    r = router_for(config)
    seen = b'{"occupancy":true}'
    assert [x.kind for x in r.handle("zigbee2mqtt/bath_radar", seen, NOW)] == [Kind.OCCUPANCY]
    assert [x.kind for x in r.handle("zigbee2mqtt/hall_pir", seen, NOW)] == [Kind.MOTION]
