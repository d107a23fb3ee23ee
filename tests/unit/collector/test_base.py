"""The collector base: points from samples, time keys, value checks, loader."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from oslo_config import cfg

from cloudkitty import exceptions
from cloudkitty.collector import base, metrics
from cloudkitty.collector.file import FileCollector
from cloudkitty.collector.prometheus import PrometheusCollector
from cloudkitty.conf import collect as collect_conf
from cloudkitty.conf import collector_file

UTC = datetime.timezone.utc
START = datetime.datetime(2024, 3, 5, 10, tzinfo=UTC)
END = START + datetime.timedelta(hours=1)


class FakeCollector(base.Collector):
    """Returns canned samples and records what it was asked."""

    name = "fake"

    def __init__(self, samples, **definitions):
        parsed = metrics.parse_metrics(
            {"metrics": definitions or {"vol": {"unit": "GiB", "groupby": ["id"]}}},
            scope_key="project_id",
        )
        super().__init__(cfg.ConfigOpts(), period=3600, scope_key="project_id", metrics=parsed)
        self.samples = samples
        self.calls = []

    def fetch(self, metric, start, end, scope_ids):
        self.calls.append((metric.key, start, end, scope_ids))
        return self.samples


def sample(scope, value, **labels):
    return base.Sample(scope_id=scope, labels=labels, value=value)


def test_collect_builds_points_per_scope():
    collector = FakeCollector(
        [
            sample("p1", "2", id="v1", project_id="p1"),
            sample("p2", "3.5", id="v2", project_id="p2"),
            sample("p1", "1", id="v0", project_id="p1"),
            sample("stranger", "9", id="v9", project_id="stranger"),
        ]
    )
    result = collector.collect("vol", START, END, ["p1", "p2", "p3", "p1"])
    assert list(result) == ["p1", "p2", "p3"]
    assert collector.calls == [("vol", START, END, ("p1", "p2", "p3"))]
    assert [p.qty for p in result["p1"]] == [Decimal(1), Decimal(2)]  # sorted by labels
    assert result["p3"] == []
    point = result["p2"][0]
    assert point.unit == "GiB"
    assert point.qty == Decimal("3.5")
    assert dict(point.groupby) == {
        "id": "v2",
        "project_id": "p2",
        "week_of_the_year": "09",
        "day_of_the_year": "65",
        "month": "3",
        "year": "2024",
    }
    assert dict(point.metadata) == {}
    assert point.price == 0


def test_collect_without_scopes_asks_nothing():
    collector = FakeCollector([])
    assert collector.collect("vol", START, END, []) == {}
    assert collector.calls == []


def test_missing_labels_become_empty_but_scope_id_is_kept():
    collector = FakeCollector(
        [sample("p1", 1)],
        cpu={"unit": "instance", "groupby": ["id"], "metadata": ["flavor"], "description": "d"},
    )
    point = collector.collect("cpu", START, END, ["p1"])["p1"][0]
    assert point.groupby["id"] == ""
    assert point.groupby["project_id"] == "p1"  # upstream bug 25 blanked it
    assert dict(point.metadata) == {"flavor": ""}
    assert point.description == "d"


def test_conversion_uses_factor_offset_and_mutate():
    collector = FakeCollector(
        [sample("p1", "1610612736")],
        img={"unit": "GiB", "factor": "1/1073741824", "offset": "0.5", "mutate": "CEIL"},
    )
    assert collector.collect("img", START, END, ["p1"])["p1"][0].qty == 2


def test_collect_accepts_a_definition_and_naive_times():
    collector = FakeCollector([sample("p1", 4)])
    definition = collector.metrics["vol"]
    naive = START.replace(tzinfo=None)
    result = collector.collect(definition, naive, naive + datetime.timedelta(hours=1), ["p1"])
    assert result["p1"][0].qty == 4
    assert collector.calls[0][1] == START


@pytest.mark.parametrize("end", [START, START - datetime.timedelta(seconds=1)])
def test_empty_or_reversed_period_is_refused(end):
    with pytest.raises(exceptions.InvalidInput):
        FakeCollector([]).collect("vol", START, end, ["p1"])


@pytest.mark.parametrize("value", ["abc", "NaN", "+Inf", "-Inf", None, "", [1], True])
def test_unusable_values_are_rejected_naming_metric_scope_value(value):
    collector = FakeCollector([sample("p1", value)])
    with pytest.raises(base.InvalidQuantity) as err:
        collector.collect("vol", START, END, ["p1"])
    message = str(err.value)
    assert "metric 'vol'" in message and "scope 'p1'" in message and repr(value) in message
    assert isinstance(err.value, exceptions.BackendError)
    assert (err.value.metric, err.value.scope_id, err.value.value) == ("vol", "p1", value)


def test_negative_quantities_are_rejected():
    collector = FakeCollector([sample("p1", "-0.001")])
    with pytest.raises(base.InvalidQuantity, match="negative quantity -0.001"):
        collector.collect("vol", START, END, ["p1"])


def test_negative_raw_value_made_positive_by_offset_is_fine():
    collector = FakeCollector([sample("p1", "-1")], m={"unit": "u", "offset": 1})
    assert collector.collect("m", START, END, ["p1"])["p1"][0].qty == 0


def test_negative_quantities_allowed_when_declared():
    collector = FakeCollector([sample("p1", "-2.5")], m={"unit": "u", "allow_negative": True})
    assert collector.collect("m", START, END, ["p1"])["p1"][0].qty == Decimal("-2.5")


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # 2024-01-01 is a Monday: the days before the first Sunday are week 00.
        ((2024, 1, 1), ("00", "1", "1", "2024")),
        ((2024, 1, 7), ("01", "7", "1", "2024")),
        ((2023, 1, 1), ("01", "1", "1", "2023")),  # a Sunday
        ((2024, 12, 31), ("52", "366", "12", "2024")),
        ((2025, 6, 15), ("24", "166", "6", "2025")),
    ],
)
def test_time_groupby(start, expected):
    result = base.time_groupby(datetime.datetime(*start, 23, 30, tzinfo=UTC))
    keys = ("week_of_the_year", "day_of_the_year", "month", "year")
    assert tuple(result[k] for k in keys) == expected


def test_time_groupby_uses_utc():
    # 2024-01-01T01:00+02:00 is 2023-12-31T23:00Z.
    start = datetime.datetime(2024, 1, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    assert base.time_groupby(start)["year"] == "2023"


def test_collect_error_keeps_its_cause():
    cause = OSError("boom")
    error = base.SourceUnreachable("unreachable", cause)
    assert error.cause is cause and error.__cause__ is cause
    assert isinstance(error, exceptions.BackendError)
    assert issubclass(base.BadSourceAnswer, base.CollectError)


def test_collector_class_lookup():
    assert base.collector_class("prometheus") is PrometheusCollector
    assert base.collector_class("file") is FileCollector


def test_unknown_collector_is_a_config_error():
    with pytest.raises(exceptions.ConfigError) as err:
        base.collector_class("nope")
    assert str(err.value).startswith("unknown collector 'nope'; installed: ")
    assert "prometheus" in str(err.value) and "file" in str(err.value)


def make_conf(tmp_path, metrics_yml, **collect):
    conf = cfg.ConfigOpts()
    metrics_path = tmp_path / "metrics.yml"
    metrics_path.write_text(metrics_yml)
    usage = tmp_path / "usage.om"
    usage.write_text('vol{project_id="p1"} 5 1709633000\n# EOF\n')
    conf([], project="cloudkitty", default_config_files=[])
    conf.register_opts(collect_conf.opts, group="collect")
    conf.register_opts(collector_file.opts, group="collector_file")
    conf.set_override("metrics_conf", str(metrics_path), group="collect")
    conf.set_override("paths", [str(usage)], group="collector_file")
    for key, value in collect.items():
        conf.set_override(key, value, group="collect")
    return conf


def test_load_collector_from_config(tmp_path):
    conf = make_conf(
        tmp_path,
        "metrics:\n  vol:\n    unit: GiB\n    extra_args: {aggregation_method: sum}\n",
        collector="file",
        period=600,
    )
    collector = base.load_collector(conf)
    assert isinstance(collector, FileCollector)
    assert collector.period == 600
    assert collector.scope_key == "project_id"
    assert collector.metrics["vol"].extra_args["aggregation_method"] == "sum"
    start = datetime.datetime(2024, 3, 5, 10, tzinfo=UTC)
    points = collector.collect("vol", start, start + datetime.timedelta(hours=1), ["p1"])
    assert [p.qty for p in points["p1"]] == [5]


def test_load_collector_validates_extra_args_of_that_collector(tmp_path):
    conf = make_conf(
        tmp_path,
        "metrics:\n  vol:\n    unit: GiB\n    extra_args: {aggregation_method: mean}\n",
        collector="file",
    )
    with pytest.raises(exceptions.ConfigError, match="metric 'vol': key 'extra_args.aggregation"):
        base.load_collector(conf)


def test_load_collector_unknown_name(tmp_path):
    conf = make_conf(tmp_path, "metrics:\n  vol: {unit: GiB}\n", collector="nope")
    with pytest.raises(exceptions.ConfigError, match="unknown collector 'nope'"):
        base.load_collector(conf)
