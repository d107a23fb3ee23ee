"""The PyScripts rating module: load once, pick scripts per frame, cache checks."""

from __future__ import annotations

import datetime
import decimal
import sys
import types

import pytest
from oslo_config import cfg

from cloudkitty import conf as ck_conf
from cloudkitty import exceptions
from cloudkitty.rating import base
from cloudkitty.rating.pyscripts import module, repository, sandbox

from .conftest import BEGIN, END, make_frame

HOUR = datetime.timedelta(hours=1)
Decimal = decimal.Decimal


@pytest.fixture
def conf() -> cfg.ConfigOpts:
    conf = ck_conf.register_all(cfg.ConfigOpts())
    conf([], project="cloudkitty", default_config_files=[])
    conf.set_override("cpu_time_limit", 2, group="pyscripts")
    conf.set_override("wall_time_limit", 5, group="pyscripts")
    conf.set_override("memory_limit_mb", 256, group="pyscripts")
    return conf


@pytest.fixture
def cache(monkeypatch) -> module.CheckCache:
    fresh = module.CheckCache()
    monkeypatch.setattr(module, "CHECKED", fresh)
    return fresh


def _add(db, name, data, start=BEGIN - HOUR, end=None):
    with db.begin() as conn:
        return repository.create(
            conn, name=name, data=data, start=start, end=end, force=True, now=BEGIN
        )


def _set_price(metric, value):
    return (
        "from decimal import Decimal\n"
        f"for p in data['usage']['{metric}']:\n"
        f"    p['rating']['price'] = p['rating']['price'] * 10 + Decimal('{value}')\n"
    )


def test_plugin_metadata():
    assert base.get_module_class("pyscripts") is module.PyScripts
    assert module.PyScripts.name == "pyscripts"
    assert module.PyScripts.description == "PyScripts rating module."
    assert module.PyScripts.hot_config is True


def test_rates_with_scripts_active_at_frame_start_in_name_order(db, conf, cache):
    _add(db, "b-second", _set_price("compute", 2))
    _add(db, "a-first", _set_price("compute", 1))
    _add(db, "later", "raise RuntimeError('not active yet')", start=END)
    _add(db, "ended", "raise RuntimeError('already ended')", end=BEGIN)
    gone = _add(db, "deleted", "raise RuntimeError('deleted')")
    with db.begin() as conn:
        repository.delete(conn, gone.script_id, now=BEGIN)
    rater = module.PyScripts(conf, db).load()
    assert rater.limits == sandbox.Limits(2, 5, 256)
    assert [s.name for s in rater.scripts] == ["a-first", "b-second", "ended", "later"]
    rated = rater.rate(make_frame(), "scope")
    # a-first then b-second: (0 * 10 + 1) * 10 + 2
    assert [p.price for p in rated.points("compute")] == [Decimal(12), Decimal(12)]
    assert [p.price for p in rated.points("instance_status")] == [0, 0]


def test_no_active_script_returns_the_frame(db, conf, cache, monkeypatch):
    _add(db, "later", "raise RuntimeError", start=END)
    monkeypatch.setattr(sandbox, "run", None)  # must not be reached
    frame = make_frame()
    assert module.PyScripts(conf, db).load().rate(frame, None) is frame


def test_compile_checks_are_cached_by_checksum(db, conf, cache, monkeypatch):
    calls = []
    real_check = sandbox.check

    def counting_check(scripts, limits):
        calls.append([s.name for s in scripts])
        return real_check(scripts, limits)

    monkeypatch.setattr(sandbox, "check", counting_check)
    _add(db, "one", _set_price("compute", 1))
    for _ in range(3):  # three reloads, three frames: one compile check
        module.PyScripts(conf, db).load().rate(make_frame(), None)
    assert calls == [["one"]]
    _add(db, "two", _set_price("compute", 2))
    module.PyScripts(conf, db).load().rate(make_frame(), None)
    assert calls == [["one"], ["two"]]
    assert len(cache) == 2


def test_syntax_error_fails_before_any_script_runs(db, conf, cache, monkeypatch):
    _add(db, "a-good", _set_price("compute", 1))
    _add(db, "b-broken", "def (:")
    monkeypatch.setattr(sandbox, "run", None)  # must not be reached
    rater = module.PyScripts(conf, db).load()
    for _ in range(2):
        with pytest.raises(exceptions.ScriptError) as info:
            rater.rate(make_frame(), None)
        assert info.value.script_name == "b-broken"
        assert info.value.reason.startswith("SyntaxError: ")


def test_cache_is_bounded():
    cache = module.CheckCache(size=2)
    scripts = [
        repository.Script(
            f"id{i}", f"s{i}", f"x = {i}", "", BEGIN, BEGIN, None, None, None, "u", None, None
        )
        for i in range(3)
    ]
    assert cache.first_error(scripts, sandbox.Limits(2, 5, 256)) is None
    assert len(cache) == 2


def test_config_controller_without_api_module(monkeypatch):
    monkeypatch.setitem(sys.modules, module.API_MODULE, None)  # import raises ImportError
    assert module.PyScripts.config_controller() is None


def test_config_controller_with_api_module(monkeypatch):
    fake = types.ModuleType(module.API_MODULE)
    fake.PyScriptsConfigController = lambda: "controller"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.API_MODULE, fake)
    assert module.PyScripts.config_controller() == "controller"
