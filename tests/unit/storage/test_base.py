"""The storage interface helpers, the loader and the row codec."""

from __future__ import annotations

import decimal

import pytest
from oslo_config import cfg

from cloudkitty import exceptions
from cloudkitty.conf import storage as storage_opts
from cloudkitty.dataframe import DataPoint
from cloudkitty.db.engine import Database
from cloudkitty.storage import base
from cloudkitty.storage.sql import codec
from cloudkitty.storage.sqlalchemy import SQLStorage


def test_normalize_filters_splits_type_and_makes_lists() -> None:
    attrs, types = base.normalize_filters({"project_id": "a", "id": ("x", "y")}, None)
    assert attrs == {"project_id": ["a"], "id": ["x", "y"]}
    assert types is None
    attrs, types = base.normalize_filters({"type": ["cpu", "ram"]}, "cpu")
    assert (attrs, types) == ({}, ["cpu"])
    assert base.normalize_filters(None, ["a", "b"]) == ({}, ["a", "b"])


def test_normalize_groupby_rewrites_time_options() -> None:
    assert base.normalize_groupby(["time-d", "time-w", "time-m", "time-y", "time"]) == [
        "day_of_the_year",
        "week_of_the_year",
        "month",
        "year",
        "time",
    ]
    assert base.normalize_groupby(["type", "type", "month", "time-m"]) == ["type", "month"]
    assert base.normalize_groupby(None) == []


def _conf(backend: str | None = None) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    conf.register_opts(storage_opts.opts, group=storage_opts.GROUP)
    conf([], project="cloudkitty-test", default_config_files=[])
    if backend is not None:
        conf.set_override("backend", backend, group="storage")
    return conf


def test_loader_finds_the_sql_driver(sqlite_url: str) -> None:
    driver = base.get_storage(_conf(), Database.from_url(sqlite_url))
    assert isinstance(driver, SQLStorage)
    assert driver.supports_transactions
    driver.init()


def test_loader_default_without_storage_group(sqlite_url: str) -> None:
    conf = cfg.ConfigOpts()
    assert isinstance(base.get_storage(conf, Database.from_url(sqlite_url)), SQLStorage)


def test_loader_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(exceptions.ConfigError, match="unknown storage backend 'influxdb'"):
        base.get_storage(_conf("influxdb"))


def test_init_on_an_unmigrated_database(tmp_path: object) -> None:
    driver = SQLStorage(None, Database.from_url(f"sqlite:///{tmp_path}/empty.sqlite"))
    with pytest.raises(exceptions.ConfigError, match="cloudkitty-storage-init"):
        driver.init()


def test_storage_options_defaults() -> None:
    conf = _conf()
    assert (conf.storage.backend, conf.storage.version) == ("sqlalchemy", 2)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("abc", "abc"),
        (True, "true"),
        (2, "2"),
        (1.5, "1.5"),
        (decimal.Decimal("1.50"), "1.50"),
        ({"b": 1, "a": 2}, '{"a":2,"b":1}'),
    ],
)
def test_attr_text(value: object, text: str) -> None:
    assert codec.attr_text(value) == text


def test_series_hash_ignores_key_order_and_time_keys() -> None:
    encoder = codec.SeriesEncoder("p1")
    one = DataPoint.create("u", 1, 0, {"a": "1", "b": "2", "day_of_the_year": "1"}, {"m": 1})
    two = DataPoint.create("u", 1, 0, {"b": "2", "a": "1", "day_of_the_year": "2"}, {"m": 1})
    hash_one, times_one = encoder.encode("cpu", one)
    hash_two, times_two = encoder.encode("cpu", two)
    assert hash_one == hash_two
    assert times_one == (None, None, None, "1") and times_two == (None, None, None, "2")
    assert len(encoder.series) == 1
    assert encoder.encode("ram", one)[0] != hash_one
    assert codec.SeriesEncoder("p2").encode("cpu", one)[0] != hash_one


def test_encoder_handles_unhashable_metadata() -> None:
    encoder = codec.SeriesEncoder(None)
    dp = DataPoint.create("u", 1, 0, {"a": "1"}, {"tags": ["x"]})
    assert encoder.encode("cpu", dp) == encoder.encode("cpu", dp)


def test_overlong_time_key_is_refused() -> None:
    dp = DataPoint.create("u", 1, 0, {"month": "m" * 40}, {})
    with pytest.raises(exceptions.InvalidInput, match="groupby month"):
        codec.SeriesEncoder(None).encode("cpu", dp)


def test_attributes_groupby_wins_and_none_is_left_out() -> None:
    encoder = codec.SeriesEncoder(None)
    dp = DataPoint.create("u", 1, 0, {"k": "g", "n": None}, {"k": "m", "n": "meta", "z": 1})
    series_hash, _ = encoder.encode("cpu", dp)
    assert encoder.series[series_hash].attributes == (("k", "g"), ("z", "1"))


def test_equal_but_differently_typed_values_are_different_series() -> None:
    encoder = codec.SeriesEncoder(None)
    hashes = {
        encoder.encode("cpu", DataPoint.create("u", 1, 0, {"x": value}, {}))[0]
        for value in (1, 1.0, True, "1")
    }
    assert len(hashes) == 4
