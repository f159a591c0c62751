"""The InfluxDB store's configuration: the flat keys of earlier versions keep their meaning, the new
keys choose the generation and the v1 names, and the adapter addresses each generation as documented
(docs/storage.md). Nothing here talks to a server: constructors do no I/O."""

from __future__ import annotations

from pathlib import Path

import pytest

from mimamori.config import ConfigError, load_config
from store.influx import influx_store
from store.influx_schema import InfluxTarget


def test_an_earlier_configuration_still_loads_as_a_2x_one(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[store]\nbackend = "influxdb"\ninflux_org = "acme"\ninflux_bucket = "ev"\n')
    config = load_config(path, environ={"MIMAMORI_INFLUX_TOKEN": "t"})
    store = influx_store(config)
    assert store.target == InfluxTarget(generation="2.x", bucket="ev")
    assert (store.target.write_bucket(), store.target.write_bucket(rollup=True)) == ("ev", "rollups")
    assert (config.store.raw_retention_days, config.store.rollup_retention_days) == (400, 3650)


def test_environment_overrides_choose_the_generation_and_names() -> None:
    config = load_config(
        None,
        environ={
            "MIMAMORI__STORE__INFLUX_GENERATION": "3.x",
            "MIMAMORI__STORE__INFLUX_DATABASE": "care",
            "MIMAMORI__STORE__INFLUX_RETENTION_POLICY": "events",
            "MIMAMORI__STORE__RAW_RETENTION_DAYS": "90",
            "MIMAMORI_INFLUX_TOKEN": "apiv3_x",
        },
    )
    store = influx_store(config)
    assert (store.target.write_bucket(), store.target.write_bucket(rollup=True)) == (
        "care/events",
        "care/rollup",
    )
    assert config.store.raw_retention_days == 90


def test_1x_needs_no_token_but_2x_does() -> None:
    assert influx_store(load_config(None, environ={"MIMAMORI__STORE__INFLUX_GENERATION": "1.8+"}))
    with pytest.raises(SystemExit, match="MIMAMORI_INFLUX_TOKEN"):
        influx_store(load_config(None, environ={}))


@pytest.mark.parametrize(
    ("key", "value"),
    [("INFLUX_GENERATION", "2"), ("RAW_RETENTION_DAYS", "0"), ("INFLUX_DATABASE", "")],
)
def test_bad_values_are_refused_at_start(key: str, value: str) -> None:
    with pytest.raises(ConfigError):
        load_config(None, environ={f"MIMAMORI__STORE__{key}": value})
