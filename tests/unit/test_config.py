"""Configuration: defaults work, unknown keys and bad values are refused with the key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from mimamori.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_need_no_file() -> None:
    config = load_config(None, environ={})
    assert config.store.backend == "sqlite"
    assert config.time_zone == "Asia/Tokyo"


def test_example_file_is_valid() -> None:
    config = load_config(ROOT / "mimamori.example.toml", environ={})
    assert config.broker.port == 1883
    assert config.climate.severe_day_min == 120


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[broker]\nprot = 1883\n", "broker.prot: unknown key"),
        ("[brokr]\n", "brokr: unknown key"),
        ("[broker]\nport = 70000\n", "broker.port"),
        ("[ingest]\nbatch_size = 'many'\n", "ingest.batch_size"),
        ("time_zone = 'Mars/Olympus'\n", "unknown time zone"),
        ("[secrets]\nbroker_password = 'x'\n", "secrets are read only from the environment"),
        ("[broker\n", "not valid TOML"),
        ("[climate]\ndanger_min = 90\n", "danger_min must not exceed"),
        ("[climate]\nalert_day_severe_min = 180\n", "alert_day_severe_min must not exceed"),
        ("[climate]\ncold_below_c = 25\n", "climate.cold_below_c"),
        ("[climate]\nthin_every = 5\n", "climate.thin_every: unknown key"),
    ],
)
def test_bad_files_are_refused_with_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_config(path, environ={})


def test_environment_overrides_and_secrets() -> None:
    config = load_config(
        None,
        environ={
            "MIMAMORI__BROKER__PORT": "2883",
            "MIMAMORI__INGEST__BATCH_SIZE": "10",
            "MIMAMORI_BROKER_PASSWORD": "s3cret",
        },
    )
    assert config.broker.port == 2883
    assert config.ingest.batch_size == 10
    assert config.secrets.broker_password is not None
    assert config.secrets.broker_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(config)


def test_environment_override_of_unknown_key_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"broker\.colour: unknown key"):
        load_config(None, environ={"MIMAMORI__BROKER__COLOUR": "red"})


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_operators_are_e164_from_the_file_or_the_environment(tmp_path: Path) -> None:
    env = {"MIMAMORI__ALERTS__OPERATORS": "+819000000001, +819000000002"}
    assert load_config(None, env).alerts.operators == ["+819000000001", "+819000000002"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[alerts]\noperators = ["090-1234-5678"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"alerts\.operators: .*E\.164"):
        load_config(bad, {})


def test_alerts_needs_an_operator() -> None:
    with pytest.raises(SystemExit, match=r"\[alerts\] operators is empty"):
        load_config(None, {}).alerts.require_operators()
    load_config(None, {"MIMAMORI__ALERTS__OPERATORS": "+819000000001"}).alerts.require_operators()
