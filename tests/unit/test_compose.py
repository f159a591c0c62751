"""docker-compose.yml and the Dockerfile, checked against what the services expect.

No Docker engine runs here, so the compose file is parsed and every claim it makes is checked:
commands parse with the real ``mimamori`` parser, mounted configuration validates with the real
``load_config`` (with the environment compose would give it), secrets come from ``.env`` and are
known, ports and host names agree with the configuration, and volumes are declared and persistent.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from app.broker_accounts import BrokerLayout, TlsListener, read_households_file, render_mosquitto_conf
from app.cli import build_parser
from mimamori.config import ENV_PREFIX, SECRET_ENV, Config, load_config

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
MIMAMORI = {name: svc for name, svc in SERVICES.items() if svc.get("build") is not None}
RUNNING = {name: svc for name, svc in MIMAMORI.items() if "tools" not in svc.get("profiles", [])}
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[?-][^}]*)?\}")


def _example_env() -> dict[str, str]:
    lines = (REPO / "deploy" / "env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {key: value for key, value in pairs}


EXAMPLE_ENV = _example_env()


def _interpolate(value: object) -> str:
    return INTERPOLATION.sub(lambda m: EXAMPLE_ENV[m.group(1)], str(value))


def _environment(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment", {})
    assert isinstance(env, dict), "use the mapping form of environment"
    return {key: _interpolate(value) for key, value in env.items()}


def _mounts(svc: dict[str, Any]) -> dict[PurePosixPath, str]:
    """Container path → source (a named volume or a ./ path)."""
    mounts = {}
    for entry in svc.get("volumes", []):
        source, target, *_ = entry.split(":")
        mounts[PurePosixPath(target)] = source
    return mounts


def _mount_of(svc: dict[str, Any], path: PurePosixPath) -> tuple[PurePosixPath, str] | None:
    for target, source in _mounts(svc).items():
        if path == target or target in path.parents:
            return target, source
    return None


def _command(svc: dict[str, Any]) -> list[str]:
    command = svc["command"]
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def _config(svc: dict[str, Any]) -> Config:
    args = build_parser().parse_args(_command(svc)[1:])
    container_path = PurePosixPath(str(args.config))
    mount = _mount_of(svc, container_path)
    assert mount is not None, f"--config {container_path} is not mounted"
    target, source = mount
    host_file = (
        REPO / source / container_path.relative_to(target) if target != container_path else REPO / source
    )
    return load_config(host_file, _environment(svc))


def test_every_reference_to_env_is_in_the_example() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    referenced = set(INTERPOLATION.findall(text))
    assert referenced, "secrets come from .env"
    assert referenced <= set(EXAMPLE_ENV), f"missing from deploy/env.example: {referenced - set(EXAMPLE_ENV)}"
    assert "$" not in "".join(EXAMPLE_ENV), "no interpolation inside the example itself"


@pytest.mark.parametrize("name", sorted(MIMAMORI))
def test_mimamori_services_run_real_commands(name: str) -> None:
    command = _command(MIMAMORI[name])
    assert command[0] == "mimamori"
    build_parser().parse_args(command[1:])  # exits (fails the test) on an unknown command or flag


@pytest.mark.parametrize("name", sorted(RUNNING))
def test_mounted_configuration_validates_with_the_compose_environment(name: str) -> None:
    svc = RUNNING[name]
    config = _config(svc)
    for key, value in _environment(svc).items():
        if key.startswith(ENV_PREFIX):
            continue  # validated by load_config above (unknown keys are refused there)
        assert key in SECRET_ENV.values(), f"{name}: {key} is neither a config key nor a known secret"
        assert svc["environment"][key].startswith("${"), f"{name}: secret {key} must come from .env"
        assert value
    for path in _data_files(config):
        mount = _mount_of(svc, PurePosixPath(path))
        assert mount is not None, f"{name}: {path} is not on a volume; its data would be lost"
        assert not mount[1].startswith("."), f"{name}: {path} should be on a named volume"


def _data_files(config: Config) -> list[Path]:
    """The files and directories the services keep their data in (shared between services)."""
    paths = [config.data_dir, config.store.sqlite_path]
    for section, key in (("alerts", "state_path"), ("dashboard", "users_path")):
        if hasattr(config, section):
            paths.append(getattr(getattr(config, section), key))
    return paths


def test_alerts_can_send_and_be_reached() -> None:
    config = _config(RUNNING["alerts"])
    assert config.alerts.sms_backend == "twilio"
    assert config.twilio.from_number or config.twilio.messaging_service_sid
    assert config.alerts.public_url.startswith("https://"), "Twilio and phones reach it through TLS"
    assert config.secrets.twilio_account_sid is not None
    assert config.secrets.twilio_auth_token is not None
    assert config.secrets.link_secret is not None, "links must verify across restarts and replicas"


def test_services_that_share_files_share_the_volume() -> None:
    where: dict[Path, set[str]] = {}
    for svc in RUNNING.values():
        config = _config(svc)
        for path in _data_files(config):
            mount = _mount_of(svc, PurePosixPath(path))
            assert mount is not None
            where.setdefault(path, set()).add(mount[1])
    assert all(len(volumes) == 1 for volumes in where.values()), where


PORT_KEYS = {
    "ingest": ("ingest", "metrics_host", "metrics_port"),
    "dashboard": ("dashboard", "host", "port"),
    "alerts": ("alerts", "http_host", "http_port"),
    "watchdog": ("watchdog", "metrics_host", "metrics_port"),
}
"""Where each service listens, by its configuration section, host key and port key."""


@pytest.mark.parametrize("name", sorted(RUNNING))
def test_listening_ports_match_the_configuration(name: str) -> None:
    config = _config(RUNNING[name])
    svc = RUNNING[name]
    container_ports = {int(str(p).split(":")[-1]) for p in svc.get("ports", [])} | {
        int(p) for p in svc.get("expose", [])
    }
    assert name in PORT_KEYS or not container_ports, f"{name}: which configuration key is its port?"
    if name in PORT_KEYS:
        section, host_key, port_key = PORT_KEYS[name]
        port = getattr(getattr(config, section), port_key)
        assert container_ports == {port}, f"{name} listens on {section}.{port_key} = {port}"
        host = getattr(getattr(config, section), host_key)
        assert host == "0.0.0.0", f"{name}: {section}.{host_key} must be reachable from other containers"


@pytest.mark.parametrize("name", sorted(RUNNING))
def test_services_reach_the_broker_and_influxdb_as_compose_names_them(name: str) -> None:
    config = _config(RUNNING[name])
    assert config.broker.host in SERVICES
    assert str(config.broker.port) in [str(p) for p in SERVICES[config.broker.host].get("expose", [])]
    assert config.broker.username == "ingest"
    store = config.store
    assert store.influx_generation == "3.x"
    host, port = store.influx_url.removeprefix("http://").split(":")
    assert host == "influxdb"
    assert port in [str(p) for p in SERVICES["influxdb"].get("expose", [])]
    setup = SERVICES["influxdb-setup"]
    assert _environment(setup)["INFLUXDB3_HOST_URL"] == store.influx_url
    # The databases the setup creates are those the v1 names map to, with the configured retention.
    created = re.findall(r"--retention-period (\d+)d (\S+)", _command(setup)[-1])
    db = store.influx_database
    assert sorted(created) == sorted(
        [
            (str(store.raw_retention_days), f"{db}/{store.influx_retention_policy}"),
            (str(store.rollup_retention_days), f"{db}/{store.influx_rollup_retention_policy}"),
        ]
    )
    token = _environment(RUNNING[name]).get("MIMAMORI_INFLUX_TOKEN")
    if token is not None:
        assert token == _environment(setup)["INFLUXDB3_AUTH_TOKEN"]
    for dependency in RUNNING[name].get("depends_on", []):
        assert dependency in SERVICES


def test_broker_config_service_generates_what_mosquitto_mounts() -> None:
    svc = SERVICES["broker-config"]
    args = build_parser().parse_args(_command(svc)[1:])
    mosquitto = SERVICES["mosquitto"]
    config_mount = _mount_of(mosquitto, PurePosixPath(args.broker_dir))
    out_mount = _mount_of(svc, PurePosixPath(args.out))
    assert config_mount is not None
    assert out_mount is not None
    assert config_mount[1] == out_mount[1], "the generated directory is the broker's config directory"
    assert _command(mosquitto)[-1] == str(args.broker_dir / "mosquitto.conf")
    assert _mount_of(mosquitto, PurePosixPath(args.persistence_dir)) is not None
    households = _mount_of(svc, PurePosixPath(args.households))
    assert households is not None
    example = REPO / "docs" / "households.example.yaml"
    assert read_households_file(example), "operators start households.yaml from the documented example"
    assert _environment(svc)["MIMAMORI_BROKER_PASSWORD"] == EXAMPLE_ENV["MIMAMORI_BROKER_PASSWORD"]
    assert svc["user"].startswith("1883:"), "mosquitto (uid 1883) must be able to read the files"

    tls = TlsListener(args.tls_cert, args.tls_key, args.tls_ca, args.tls_port)
    conf = render_mosquitto_conf(BrokerLayout(args.broker_dir, args.persistence_dir, args.port, tls))
    listeners = {int(p) for p in re.findall(r"^listener (\d+)", conf, re.MULTILINE)}
    published = {int(str(p).split(":")[-1]) for p in mosquitto.get("ports", [])}
    exposed = {int(p) for p in mosquitto.get("expose", [])}
    assert published | exposed == listeners
    assert args.port not in published, "plain MQTT stays inside the compose network"
    for path in (args.tls_cert, args.tls_key):
        assert _mount_of(mosquitto, PurePosixPath(path)) is not None, f"{path} is not mounted"
    assert "allow_anonymous false" in conf


def test_volumes_are_declared_and_bind_mounts_exist_or_are_generated() -> None:
    declared = set(COMPOSE["volumes"])
    generated = {"./deploy/broker", "./deploy/tls", "./deploy/households.yaml"}
    for name, svc in SERVICES.items():
        for source in _mounts(svc).values():
            if source.startswith("."):
                assert (REPO / source).exists() or source in generated, f"{name}: {source} missing"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
    ignored = (REPO / ".gitignore").read_text().splitlines()
    for source in generated - {"./deploy/tls"}:
        assert any(source[2:].rstrip("/") == line.rstrip("/") for line in ignored), f"{source} not ignored"


def test_dockerfile_installs_every_package_and_runs_unprivileged() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]]
    for package in packages:
        assert f"COPY {package} ./{package}" in dockerfile, f"Dockerfile does not copy {package}/"
    assert "pip install --no-cache-dir ." in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
    assert "mosquitto" in dockerfile, "broker-config needs mosquitto_passwd in the image"
    assert ".env" in (REPO / ".dockerignore").read_text().splitlines()
