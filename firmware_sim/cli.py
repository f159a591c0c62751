"""``mimamori sim`` (simulate homes: to files, or published live to a broker) and ``mimamori sim-stats``."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from firmware_sim.files import read_csv, write_csv, write_jsonl, write_truth
from firmware_sim.formats import device_map
from firmware_sim.homes import HouseholdSpec
from firmware_sim.kits import KITS_BY_NAME
from firmware_sim.scenarios import Scenario, ScenarioKind
from firmware_sim.simulate import DEFAULT_START, build_homes, generate, random_scenarios, specs
from firmware_sim.stats import compute
from mimamori.commands import Subcommands, add_config_argument, config_from


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "sim",
        help="simulate homes: write event files, or publish live to a broker",
        description="Without --out-csv/--out-jsonl/--truth, publishes to the configured broker.",
    )
    add_config_argument(parser)
    parser.add_argument("--households", type=int, default=None, help="how many homes (default: config)")
    parser.add_argument("--days", type=float, default=7, help="simulated days")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: config)")
    parser.add_argument("--start", type=date.fromisoformat, default=None, help="first local date (files)")
    parser.add_argument("--tz", default=None, help="households' time zone (default: config, Asia/Tokyo)")
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="kind=K,household=H,t0=T[,end=T][,device=D][,offset=S][,rate=F]",
        help="inject a scenario (repeatable); times ISO 8601 or DAY+HH:MM, day 0 = --start;"
        " e.g. kind=fall,household=home-0003,t0=2+10:30",
    )
    parser.add_argument("--random-scenarios", type=int, default=0, help="inject N plausible scenarios")
    parser.add_argument(
        "--kit",
        choices=tuple(KITS_BY_NAME),
        default=None,
        help="every home's sensor kit (default: drawn per home; presence: the full kit with presence"
        " sensors and a bed pad)",
    )
    parser.add_argument(
        "--climate-share",
        type=float,
        default=None,
        help="share of homes (0..1, drawn) with room thermometers and an air conditioner plug, reporting"
        " temperature and humidity every 5 minutes (default: config, 0)",
    )
    parser.add_argument("--out-csv", type=Path, default=None)
    parser.add_argument("--out-jsonl", type=Path, default=None)
    parser.add_argument("--truth", type=Path, default=None, help="ground truth JSON")
    parser.add_argument(
        "--speed", type=float, default=None, help="simulated seconds per real second; 0 = as fast as possible"
    )
    parser.add_argument(
        "--format",
        choices=("native", "zigbee2mqtt", "shelly", "tasmota", "mixed"),
        default="native",
        help="device payload format when publishing (mixed: Zigbee sensors, Shelly/Tasmota plugs)",
    )
    parser.add_argument(
        "--topic-root", default="sim/{household}", help="local topic root per home ({household} is replaced)"
    )
    parser.add_argument(
        "--gateway-config",
        default=None,
        metavar="PATH",
        help="write each home's [gateway] TOML (devices in --format, --topic-root) to PATH"
        " ({household} is replaced) and exit",
    )
    parser.set_defaults(func=run)

    stats = sub.add_parser("sim-stats", help="events per household-day per kind, longest quiet gaps")
    stats.add_argument("--events", type=Path, required=True, help="an event CSV written by 'mimamori sim'")
    stats.set_defaults(func=run_stats)


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    households = args.households or config.sim.households
    seed = config.sim.seed if args.seed is None else args.seed
    tz = args.tz or config.sim.tz
    ZoneInfo(tz)
    share = config.sim.climate_share if args.climate_share is None else args.climate_share
    if not 0.0 <= share <= 1.0:
        raise SystemExit(f"mimamori: --climate-share {share}: must be between 0 and 1")
    args.climate_share = share
    if args.gateway_config:
        first_day = datetime.now(ZoneInfo(tz)).date()
        for home in build_homes(
            household_specs(args, households, tz), seed, first_day, tz=tz, climate_share=share
        ):
            path = Path(args.gateway_config.format(household=home.household))
            root = args.topic_root.format(household=home.household)
            path.write_text(
                gateway_toml(home.household, home.tz, root, device_map(home.household, home.kit, args.format))
            )
            print(path, flush=True)
        return 0
    files = args.out_csv or args.out_jsonl or args.truth
    if not files:
        from firmware_sim.publish import run_live

        speed = config.sim.speed if args.speed is None else args.speed
        return asyncio.run(run_live(config, args, households, seed, tz, speed))
    start = args.start or DEFAULT_START
    days = int(args.days)
    scenarios = scenarios_from(args, start, tz, households, seed)
    result = generate(
        household_specs(args, households, tz), days, seed, scenarios, start=start, tz=tz, climate_share=share
    )
    zones = {home.household: home.zone for home in result.homes}
    if args.out_csv:
        with args.out_csv.open("w", encoding="utf-8", newline="") as out:
            write_csv(result.events, out, zones)
    if args.out_jsonl:
        with args.out_jsonl.open("w", encoding="utf-8") as out:
            write_jsonl(result.events, out)
    if args.truth:
        write_truth(result.truth(), args.truth)
    print(
        json.dumps(
            {"households": len(result.homes), "days": days, "events": len(result.events), "seed": seed}
        ),
        flush=True,
    )
    return 0


def gateway_toml(household: str, tz: str, root: str, devices: dict[str, dict[str, str]]) -> str:
    """A ``[gateway]`` section for a simulated home (ids and addresses are TOML-safe by construction)."""
    lines = [
        "[gateway]",
        f'household = "{household}"',
        'gateway = "gw-1"',
        f'time_zone = "{tz}"',
        f'outbox_path = "var/gateway-{household}.sqlite3"',
        f'local_root = "{root}"',
        "",
        "[gateway.devices]",
    ]
    lines += [f'{d} = {{ source = "{m["source"]}", address = "{m["address"]}" }}' for d, m in devices.items()]
    return "\n".join(lines) + "\n"


def household_specs(args: argparse.Namespace, households: int, tz: str) -> list[HouseholdSpec]:
    """home-0001..home-N, each with the ``--kit`` given (None: drawn per home)."""
    return [HouseholdSpec(spec.id, spec.tz, args.kit) for spec in specs(households, tz)]


def scenarios_from(
    args: argparse.Namespace, start: date, tz: str, households: int, seed: int
) -> list[Scenario]:
    """``--scenario`` options plus ``--random-scenarios`` ones, for a run from local date ``start``."""
    scenarios = [parse_scenario(text, start, tz) for text in args.scenario]
    if args.random_scenarios:
        homes = build_homes(household_specs(args, households, tz), seed, start, tz=tz)
        scenarios += random_scenarios(homes, start, int(args.days), seed, args.random_scenarios)
    return scenarios


def parse_scenario(text: str, start: date, tz: str) -> Scenario:
    """``kind=fall,household=home-0003,t0=2+10:30[,end=...][,device=...][,offset=S][,rate=F]``.
    Times are ISO 8601 (local ``tz`` when without offset) or ``DAY+HH:MM`` (local, day 0 = start)."""
    try:
        fields = dict(item.split("=", 1) for item in text.split(",") if item)
        unknown = fields.keys() - {"kind", "household", "t0", "end", "device", "offset", "rate", "ramp_days"}
        if unknown:
            raise ValueError("unknown " + ", ".join(sorted(unknown)))
        return Scenario(
            fields["household"],
            ScenarioKind(fields["kind"]),
            _when(fields["t0"], start, tz),
            _when(fields["end"], start, tz) if fields.get("end") else None,
            device=fields.get("device") or None,
            offset_s=float(fields.get("offset", 0.0)),
            rate=float(fields.get("rate", 0.2)),
            ramp_days=float(fields.get("ramp_days", 3.0)),
        )
    except (KeyError, ValueError) as exc:
        raise SystemExit(f"mimamori: scenario {text!r}: {exc}") from None


_DAY_CLOCK = re.compile(r"^(\d+)\+(\d{1,2}):(\d{2})$")


def _when(text: str, start: date, tz: str) -> datetime:
    match = _DAY_CLOCK.match(text)
    if match:
        day, hours, minutes = (int(g) for g in match.groups())
        local = datetime.combine(start + timedelta(days=day), time(), tzinfo=ZoneInfo(tz))
        return local + timedelta(hours=hours, minutes=minutes)
    at = datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=ZoneInfo(tz))


def run_stats(args: argparse.Namespace) -> int:
    try:
        stats = compute(read_csv(args.events))
    except (OSError, ValueError) as exc:
        print(f"mimamori: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(stats.summary(), indent=1))
    return 0
