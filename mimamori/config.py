"""Typed configuration: one TOML file plus environment overrides, validated once at start-up.

Each stage reads only its own section, passed down from the CLI; nothing reads globals.
Non-secret values may be overridden with ``MIMAMORI__SECTION__KEY=value`` (double underscores);
secrets come only from the environment (see :class:`Secrets`) and are rejected in the file.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

ENV_PREFIX = "MIMAMORI__"
E164 = re.compile(r"\+[1-9]\d{6,14}")


def known_time_zone(value: str) -> str:
    """``value`` if it names an IANA time zone; raises ValueError otherwise."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(known_time_zone)]


class ConfigError(Exception):
    """The configuration is invalid; the message says which key and why."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BrokerConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    tls: bool = False
    ca_file: Path | None = None
    keepalive_s: int = Field(30, ge=5, le=3600)


class StoreConfig(Section):
    backend: Literal["sqlite", "influxdb"] = "sqlite"
    sqlite_path: Path = Path("var/mimamori-events.sqlite3")
    sqlite_synchronous: Literal["full", "normal"] = "full"
    dead_letter_limit: int = Field(10_000, ge=1, le=10_000_000)
    raw_retention_days: int = Field(400, ge=1, le=36_500)  # events and live state
    rollup_retention_days: int = Field(3650, ge=1, le=36_500)  # hourly roll-ups
    influx_url: str = "http://127.0.0.1:8086"
    # Which InfluxDB answers (docs/storage.md): "1.8+" (v2 write API, buckets "database/policy";
    # the adapter creates the database and retention policies), "2.x" (buckets with a DBRP mapping
    # to the database and policies below), "3.x" (databases "database/policy").
    influx_generation: Literal["1.8+", "2.x", "3.x"] = "2.x"
    influx_org: str = "mimamori"  # 2.x only
    influx_bucket: str = "events"  # 2.x: raw points
    influx_rollup_bucket: str = "rollups"  # 2.x: hourly roll-ups
    influx_database: str = Field("mimamori", min_length=1)  # the v1 names InfluxQL queries use
    influx_retention_policy: str = Field("raw", min_length=1)
    influx_rollup_retention_policy: str = Field("rollup", min_length=1)
    influx_batch_lines: int = Field(5000, ge=1, le=100_000)
    influx_max_retries: int = Field(5, ge=0, le=100)


class IngestConfig(Section):
    client_id: str = "mimamori-ingest-1"
    share_group: str = "ingest"
    batch_size: int = Field(5000, ge=1, le=100_000)
    batch_interval_ms: int = Field(50, ge=1, le=10_000)
    session_expiry_s: int = Field(7 * 24 * 3600, ge=0)
    receive_maximum: int = Field(40_000, ge=1, le=65_535)
    store_workers: int = Field(2, ge=1, le=8)  # SQLite: batches stored at once, one process each
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(9108, ge=0, le=65535)
    registered_only: bool = True  # accept only the registry's households and gateways ([alerts] state_path)
    registry_refresh_s: float = Field(30.0, ge=0.1, le=3600)  # how soon a (de)registration reaches ingest


class GatewayDevice(Section):
    """Where one of the home's devices appears on the local broker (docs/gateway.md)."""

    source: Literal["native", "zigbee2mqtt", "shelly", "tasmota"]
    address: str = Field(min_length=1, max_length=200)
    """zigbee2mqtt friendly name, Shelly id (topic prefix), Tasmota topic, or native device id."""
    presence: bool = False
    """A presence sensor or bed/chair pad that reports zigbee2mqtt ``occupancy`` or a Shelly input:
    read it as occupancy, not motion (docs/gateway.md)."""


class GatewayConfig(Section):
    """One home gateway. Upstream is [broker] (per-household username there, password from
    MIMAMORI_BROKER_PASSWORD); the home's own broker is local_host:local_port."""

    household: str = "demo-0001"
    gateway: str = "gw-1"
    time_zone: TimeZoneName = "Asia/Tokyo"
    outbox_path: Path = Path("var/gateway-outbox.sqlite3")
    outbox_max_events: int = Field(200_000, ge=1)
    outbox_full_policy: Literal["drop_oldest", "refuse_new"] = "drop_oldest"
    drain_rate_per_s: float = Field(200.0, gt=0)
    publish_window: int = Field(100, ge=1, le=10_000)
    ack_timeout_s: int = Field(60, ge=1, le=3600)  # ingest's acknowledgement overdue: publish again
    heartbeat_s: int = Field(60, ge=1, le=3600)
    local_host: str = "127.0.0.1"
    local_port: int = Field(1883, ge=1, le=65535)
    local_root: str = ""
    native_prefix: str = "home"
    zigbee2mqtt_base: str = "zigbee2mqtt"
    accept_unlisted_native: bool = True
    devices: dict[str, GatewayDevice] = {}

    @field_validator("household", "gateway")
    @classmethod
    def _safe_id(cls, value: str) -> str:
        from mimamori.contract import ID_RE

        if not ID_RE.match(value):
            raise ValueError(f"{value!r} must match {ID_RE.pattern}")
        return value

    @field_validator("devices")
    @classmethod
    def _device_ids(cls, value: dict[str, GatewayDevice]) -> dict[str, GatewayDevice]:
        from mimamori.contract import ID_RE

        bad = [name for name in value if not ID_RE.match(name)]
        if bad:
            raise ValueError(f"device ids {bad} must match {ID_RE.pattern}")
        seen: set[tuple[str, str]] = set()
        for device in value.values():
            key = (device.source, device.address)
            if key in seen:
                raise ValueError(f"two devices share {device.source} address {device.address!r}")
            seen.add(key)
        return value


class SimConfig(Section):
    seed: int = 1
    households: int = Field(3, ge=1, le=100_000)
    speed: float = Field(60.0, ge=0)  # 0 = as fast as possible
    tz: str = "Asia/Tokyo"
    climate_share: float = Field(0.0, ge=0.0, le=1.0)  # homes with room climate sensors (docs/climate.md)


class DashboardConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    users_path: Path = Path("var/dashboard.sqlite3")  # accounts, assignments, sessions
    session_hours: float = Field(8.0, gt=0, le=24 * 7)  # absolute session lifetime, checked on the server
    idle_minutes: float = Field(30.0, gt=0, le=24 * 7 * 60)  # a session unused this long ends
    care_manager_2fa: bool = False  # care managers must use a second factor too (administrators always do)
    secure_cookies: bool = True  # keep on; browsers accept Secure cookies on http://localhost
    login_max_failures: int = Field(5, ge=1, le=100)  # per user and per client address ...
    login_window_minutes: int = Field(15, ge=1, le=24 * 60)  # ... within this window, then 429
    default_language: Literal["ja", "en"] = "ja"
    live_interval_s: float = Field(15.0, gt=0, le=3600)  # overview live-update period


class DetectionConfig(Section):
    """Detector knobs (docs/detection.md); the defaults are the benchmarked setting."""

    sensitivity: float = Field(1.0, gt=0.2, le=5.0)  # > 1: alarms sooner and more often
    history_days: int = Field(28, ge=7, le=90)  # baselines learn from this many days
    trusted_days: int = Field(7, ge=1, le=60)  # priors blend out over this many days
    wake_margin_min: int = Field(30, ge=0, le=90)  # missed wake-up: usual latest wake-up + this
    night_exit_after_min: int = Field(30, ge=5, le=240)  # night exit (opt-in): door, then quiet this long
    gateway_grace_min: int = Field(10, ge=1, le=120)  # gateway offline this long: blind
    sensors_silent_min: int = Field(180, ge=30)  # every sensor silent (check-ins too): blind
    device_silent_hours: int = Field(24, ge=1)  # one device silent: technical finding
    low_battery_pct: float = Field(15.0, ge=0, le=100)
    not_back_margin_min: int = Field(60, ge=10, le=480)  # care calendar: not back by the end + this


class ClimateConfig(Section):
    """The indoor heat and cold watch and the thinning of chatty room sensors (docs/climate.md)."""

    severe_day_min: int = Field(120, ge=10, le=24 * 60)  # 厳重警戒 this long while home, by day
    severe_night_min: int = Field(60, ge=10, le=24 * 60)  # ... at night (22:00-06:00)
    danger_min: int = Field(10, ge=5, le=240)  # 危険 this long (two 5-minute readings, not a spike)
    cold_below_c: float = Field(10.0, ge=0.0, le=20.0)  # living room or bedroom below this ...
    cold_hours: float = Field(3.0, ge=0.5, le=24.0)  # ... for this long while home
    heat_shock_gap_c: float = Field(10.0, ge=3.0, le=30.0)  # bathroom this much colder than the living room
    thin_every_min: int = Field(15, ge=1, le=120)  # ingest keeps a steady sensor's reading this often ...
    thin_step_c: float = Field(0.3, ge=0.0, le=5.0)  # ... or at once when it moved this far (°C)
    thin_step_pct: float = Field(3.0, ge=0.0, le=30.0)  # ... or this far (% relative humidity)
    # The heat-alert feed (熱中症警戒アラート): a CSV of alert days per area (docs/climate.md), a path;
    # "": none. On an alert day in a household's area, 厳重警戒 by day is raised after alert_day_severe_min.
    alert_days_path: Path | None = None
    alert_day_severe_min: int = Field(60, ge=10, le=24 * 60)
    area: str = Field("", pattern=r"^(\d{2})?$")  # the default prefecture code (JIS X 0401, "13" Tokyo)

    @model_validator(mode="after")
    def _ordered(self) -> ClimateConfig:
        if self.danger_min > self.severe_night_min or self.danger_min > self.severe_day_min:
            raise ValueError("danger_min must not exceed severe_day_min or severe_night_min")
        if self.alert_day_severe_min > self.severe_day_min:
            raise ValueError("alert_day_severe_min must not exceed severe_day_min (an alert day lowers it)")
        return self


class AlertsConfig(Section):
    """The alerts process: detector tick, escalation, webhooks and one-tap links."""

    state_path: Path = Path("var/mimamori-state.sqlite3")
    http_host: str = "127.0.0.1"
    http_port: int = Field(8085, ge=0, le=65535)  # 0: any free port (tests)
    public_url: str = (
        ""  # as phones and Twilio see it (behind a TLS proxy: https://...); "": http://host:port
    )
    sms_backend: Literal["outbox", "twilio"] = "outbox"  # "outbox": every channel is stored, none sent
    # The channels this installation offers (docs/channels.md); a contact's own list picks among them.
    # sms is always on; email also needs [email] enabled; line needs [line] enabled (or the outbox).
    channels: list[Literal["sms", "voice", "line", "email"]] = ["sms", "voice", "line", "email"]
    tick_s: float = Field(60.0, gt=0)  # detector tick
    sweep_s: float = Field(5.0, gt=0)  # safety sweep for due steps and SMS (besides the exact jobs)
    misfire_grace_s: int = Field(300, ge=1)
    link_ttl_hours: int = Field(24, ge=1, le=24 * 14)
    blind_hold_minutes: int = Field(5, ge=0, le=120)  # wait before texting about a blind home
    mass_blind_threshold: int = Field(20, ge=2)  # this many blind homes at once: one operator alert
    operators: list[str] = []  # E.164 numbers of the platform operators: told when a chain runs out
    operator_language: Literal["ja", "en"] = "ja"
    clock_file: Path | None = None  # tests and demos only: read "now" (ISO 8601) from this file
    heartbeat_path: Path = Path("var/heartbeats/detector")  # written after every completed tick
    # Chain health drills (docs/operations.md): a test SMS to every contact every N days, sent between
    # 10:00 and 18:00 local time; 0 turns them off (the embedded default; the deploy config has 30).
    drill_every_days: int = Field(0, ge=0, le=365)
    drill_answer_hours: int = Field(48, ge=1, le=24 * 14)  # unanswered by then: unreachable
    drill_summary_days: int = Field(7, ge=1, le=90)  # the summary of unreachable contacts to the operators
    # Families' daily digest (docs/community.md, *Families*): sent at this local time of each household,
    # or up to 3 hours later (a service down at that time catches up; never in the night).
    digest_at: time = time(19, 0)

    @field_validator("operators", mode="before")
    @classmethod
    def _operator_list(cls, value: object) -> object:
        """From the environment (``MIMAMORI__ALERTS__OPERATORS``): comma-separated numbers."""
        return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value

    @field_validator("operators")
    @classmethod
    def _e164(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not E164.fullmatch(v)]
        if bad:
            raise ValueError(f"not E.164 phone numbers (+ and 7-15 digits): {', '.join(bad)}")
        return value

    def require_operators(self) -> None:
        """Someone is always told: the alerts service does not start without an operator to tell."""
        if not self.operators:
            raise SystemExit(
                "mimamori: [alerts] operators is empty: set at least one E.164 number (who is texted when"
                " an escalation chain runs out); or MIMAMORI__ALERTS__OPERATORS"
            )


class DisasterConfig(Section):
    """Disaster checks (安否確認, docs/community.md)."""

    ignore_minutes: int = Field(10, ge=0, le=120)  # activity this soon after the start is the quake itself
    duration_hours: float = Field(24.0, gt=0, le=24 * 7)  # a check not ended by hand ends by itself then
    backlog_s: float = Field(30.0, gt=0, le=3600)  # residents' SMS queued ahead, in seconds of the SMS rate
    volunteers_per_minute: float = Field(6.0, gt=0, le=600)  # volunteers asked to look, at most
    check_s: float = Field(10.0, gt=0)  # how often the alerts service looks at a running check


class TwilioConfig(Section):
    """Twilio (``sms_backend = "twilio"``); credentials from TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN."""

    from_number: str = ""  # E.164 sender, or leave empty and set messaging_service_sid
    messaging_service_sid: str | None = None
    api_base_url: str = "https://api.twilio.com"  # a local Twilio-compatible server in tests
    voice_from_number: str = ""  # E.164 caller id of voice calls ("": from_number)
    ring_timeout_s: int = Field(30, ge=5, le=600)  # an unanswered call ends after this: the next channel
    timeout_s: float = Field(10.0, gt=0)
    rate_per_s: float = Field(1.0, gt=0)  # per sender; urgent messages go first
    max_attempts: int = Field(8, ge=1, le=50)
    backoff_base_s: float = Field(5.0, gt=0)
    backoff_max_s: float = Field(300.0, gt=0)


class LineConfig(Section):
    """LINE Messaging API; secrets LINE_CHANNEL_ACCESS_TOKEN and LINE_CHANNEL_SECRET (docs/channels.md)."""

    enabled: bool = False  # with sms_backend = "outbox", LINE messages are stored in the outbox instead
    api_base_url: str = "https://api.line.me"  # a local Messaging-API-compatible server in tests
    timeout_s: float = Field(10.0, gt=0)
    link_code_hours: int = Field(72, ge=1, le=24 * 30)  # a one-time code to link a contact expires then


class EmailConfig(Section):
    """SMTP for e-mail notices (operators, care managers, families); password from MIMAMORI_SMTP_PASSWORD."""

    enabled: bool = False
    smtp_host: str = "localhost"
    smtp_port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"  # "none" only for a relay on localhost
    username: str = ""  # empty: no authentication
    from_address: str = "mimamori@localhost"
    timeout_s: float = Field(20.0, gt=0)


class WatchdogConfig(Section):
    """`mimamori watchdog`: tells the operators when the platform stops watching (docs/operations.md)."""

    state_path: Path = Path("var/watchdog.sqlite3")  # its own file: a broken state file cannot silence it
    check_s: float = Field(30.0, gt=0)  # how often every part is read
    hold_s: float = Field(120.0, ge=0)  # a failure must last this long to be told (and a recovery)
    gateway_silence_s: float = Field(600.0, gt=0)  # no heartbeat from any gateway for this long
    ingest_stall_s: float = Field(600.0, gt=0)  # ingest's received counter unchanged (or unreadable)
    ingest_metrics_urls: list[str] = ["http://127.0.0.1:9108/metrics"]  # every ingest worker
    detector_stale_s: float = Field(300.0, gt=0)  # no completed detection tick for this long
    sms_window_s: float = Field(900.0, gt=0)  # the SMS provider is judged over this window
    sms_failures: int = Field(3, ge=1)  # this many failed attempts and none sent: failing
    operator_emails: list[str] = []  # besides [alerts] operators (SMS); the SMS path is told here
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(9109, ge=0, le=65535)  # Prometheus scrapes it; None: not served
    # End-to-end drill: a reading published as this household's gateway through the broker must reach
    # the store and the detector. "": no drill. Register the household (households file) so that ingest
    # and the broker's ACL accept it; its broker password comes from MIMAMORI_DRILL_PASSWORD.
    drill_household: str = ""
    drill_every_s: float = Field(300.0, gt=0)
    drill_deadline_s: float = Field(180.0, gt=0)  # a drill not through by then fails


class PointsConfig(Section):
    """Points per counted activity of a volunteer's month (ボランティアポイント; docs/community.md)."""

    alert: int = Field(0, ge=0, le=1000)  # an alert received
    answered: int = Field(1, ge=0, le=1000)  # an alert answered (any answer)
    claimed: int = Field(0, ge=0, le=1000)  # an alert claimed ("I'll go")
    visit: int = Field(3, ge=0, le=1000)  # a claimed alert closed with an outcome (the visit was made)
    drill: int = Field(1, ge=0, le=1000)  # a chain health drill answered


class VolunteersConfig(Section):
    """Volunteer records (`mimamori volunteers records`, the records page, 「記録」 by SMS)."""

    points: PointsConfig = PointsConfig()


class Secrets(BaseModel):
    """Secrets, read only from the environment; never written to a file or logged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    broker_password: SecretStr | None = None  # MIMAMORI_BROKER_PASSWORD
    influx_token: SecretStr | None = None  # MIMAMORI_INFLUX_TOKEN
    twilio_account_sid: SecretStr | None = None  # TWILIO_ACCOUNT_SID
    twilio_auth_token: SecretStr | None = None  # TWILIO_AUTH_TOKEN
    session_secret: SecretStr | None = None  # MIMAMORI_SESSION_SECRET
    link_secret: SecretStr | None = None  # MIMAMORI_LINK_SECRET
    smtp_password: SecretStr | None = None  # MIMAMORI_SMTP_PASSWORD
    drill_password: SecretStr | None = None  # MIMAMORI_DRILL_PASSWORD
    line_channel_access_token: SecretStr | None = None  # LINE_CHANNEL_ACCESS_TOKEN
    line_channel_secret: SecretStr | None = None  # LINE_CHANNEL_SECRET


SECRET_ENV = {
    "broker_password": "MIMAMORI_BROKER_PASSWORD",
    "influx_token": "MIMAMORI_INFLUX_TOKEN",
    "twilio_account_sid": "TWILIO_ACCOUNT_SID",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN",
    "session_secret": "MIMAMORI_SESSION_SECRET",
    "link_secret": "MIMAMORI_LINK_SECRET",
    "smtp_password": "MIMAMORI_SMTP_PASSWORD",
    "drill_password": "MIMAMORI_DRILL_PASSWORD",
    "line_channel_access_token": "LINE_CHANNEL_ACCESS_TOKEN",
    "line_channel_secret": "LINE_CHANNEL_SECRET",
}


class Config(Section):
    """The whole configuration. Every section has working embedded defaults."""

    data_dir: Path = Path("var")
    time_zone: TimeZoneName = "Asia/Tokyo"
    broker: BrokerConfig = BrokerConfig()
    store: StoreConfig = StoreConfig()
    ingest: IngestConfig = IngestConfig()
    gateway: GatewayConfig = GatewayConfig()
    sim: SimConfig = SimConfig()
    dashboard: DashboardConfig = DashboardConfig()
    alerts: AlertsConfig = AlertsConfig()
    disaster: DisasterConfig = DisasterConfig()
    detection: DetectionConfig = DetectionConfig()
    climate: ClimateConfig = ClimateConfig()
    twilio: TwilioConfig = TwilioConfig()
    email: EmailConfig = EmailConfig()
    line: LineConfig = LineConfig()
    watchdog: WatchdogConfig = WatchdogConfig()
    volunteers: VolunteersConfig = VolunteersConfig()
    secrets: Secrets = Secrets()


def load_config(path: Path | None, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (or only defaults when None), apply the environment, validate, or raise ConfigError."""
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        if "secrets" in data:
            raise ConfigError(
                f"{path}: secrets are read only from the environment ({', '.join(SECRET_ENV.values())})"
            )
    for key, value in env.items():
        if key.startswith(ENV_PREFIX):
            _set_path(data, key.removeprefix(ENV_PREFIX).lower().split("__"), value)
    data["secrets"] = {name: env[var] for name, var in SECRET_ENV.items() if env.get(var)}
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, path)) from None


def _set_path(data: dict[str, Any], keys: list[str], value: str) -> None:
    node = data
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"environment override {'.'.join(keys)}: {key} is not a section")
        node = child
    node[keys[-1]] = value


def _explain(exc: ValidationError, path: Path | None) -> str:
    source = str(path) if path is not None else "configuration"
    lines = [f"{source} is invalid:"]
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)
