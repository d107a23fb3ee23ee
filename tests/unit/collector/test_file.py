"""File collector: OpenMetrics and CSV usage files, exact per-period aggregation."""

from __future__ import annotations

import datetime
import os
from decimal import Decimal

import pytest
from oslo_config import cfg

from cloudkitty import exceptions
from cloudkitty.collector import base, file_formats, metrics
from cloudkitty.collector.file import FileCollector
from cloudkitty.conf import collector_file as conf_module

UTC = datetime.timezone.utc
T0 = datetime.datetime(2024, 1, 1, tzinfo=UTC)
T1 = T0 + datetime.timedelta(hours=1)
E0 = 1704067200  # T0 in epoch seconds

OPENMETRICS = f"""# HELP vol Volume size
# TYPE vol gauge
vol{{project_id="p1",volume_id="v1",type="ssd"}} 10 {E0}
vol{{project_id="p1",volume_id="v1",type="ssd"}} 30 {E0 + 1800}
vol{{project_id="p1",volume_id="v1",type="ssd"}} 20 {E0 + 3599.999}
vol{{project_id="p1",volume_id="v1",type="ssd"}} 99 {E0 + 3600}
vol{{project_id="p1",volume_id="v2",type="hdd"}} 0.1 {E0 + 60}
vol{{project_id="p1",volume_id="v2",type="hdd"}} 0.2 {E0 + 120}
vol{{project_id="p2",volume_id="v3"}} 7 {E0 + 60} # {{trace_id="x"}} 1 {E0}
vol{{volume_id="orphan"}} 5 {E0 + 60}
vol{{project_id="p1",volume_id="v1",type="ssd"}} 1000 {E0 - 1}
other{{project_id="p1"}} 3 {E0 + 60}
# EOF
"""


def make(tmp_path, text=OPENMETRICS, name="usage.om", fmt="auto", paths=None, **definition):
    path = tmp_path / name
    path.write_text(text)
    conf = cfg.ConfigOpts()
    conf([], project="cloudkitty", default_config_files=[])
    conf.register_opts(conf_module.opts, group=conf_module.GROUP)
    conf.set_override("paths", paths or [str(path)], group=conf_module.GROUP)
    conf.set_override("format", fmt, group=conf_module.GROUP)
    definition.setdefault("unit", "GiB")
    definition.setdefault("groupby", ["volume_id"])
    parsed = metrics.parse_metrics(
        {"metrics": {"vol": definition}},
        scope_key="project_id",
        extra_args=FileCollector.EXTRA_ARGS,
    )
    collector = FileCollector(conf, period=3600, scope_key="project_id", metrics=parsed)
    return collector, path


def quantities(result, scope):
    return {p.groupby["volume_id"]: p.qty for p in result[scope]}


@pytest.mark.parametrize(
    ("method", "v1", "v2"),
    [
        ("max", Decimal(30), Decimal("0.2")),
        ("min", Decimal(10), Decimal("0.1")),
        ("sum", Decimal(60), Decimal("0.3")),  # exact: 0.1 + 0.2 == 0.3
        ("avg", Decimal(20), Decimal("0.15")),
        ("last", Decimal(20), Decimal("0.2")),
        ("count", Decimal(3), Decimal(2)),
    ],
)
def test_aggregations_over_half_open_period(tmp_path, method, v1, v2):
    collector, _ = make(tmp_path, extra_args={"aggregation_method": method})
    result = collector.collect("vol", T0, T1, ["p1", "p2"])
    assert quantities(result, "p1") == {"v1": v1, "v2": v2}
    assert quantities(result, "p2") == {"v3": Decimal(1 if method == "count" else 7)}


def test_default_aggregation_is_max(tmp_path):
    collector, _ = make(tmp_path)
    assert collector.metrics["vol"].extra_args["aggregation_method"] == "max"


def test_avg_is_exact_and_rounded_only_when_infinite(tmp_path):
    text = "\n".join(
        f'vol{{project_id="p",volume_id="v"}} {v} {E0 + i}' for i, v in enumerate("112")
    )
    collector, _ = make(tmp_path, text=text, extra_args={"aggregation_method": "avg"})
    (point,) = collector.collect("vol", T0, T1, ["p"])["p"]
    assert point.qty == Decimal("1." + "3" * 33)  # 4/3 to 34 significant digits


def test_groups_by_groupby_and_metadata_and_converts(tmp_path):
    collector, _ = make(
        tmp_path,
        groupby=[],
        metadata=["type"],
        factor="1/2",
        extra_args={"aggregation_method": "sum"},
    )
    result = collector.collect("vol", T0, T1, ["p1"])
    assert [(dict(p.metadata), p.qty) for p in result["p1"]] == [
        ({"type": "hdd"}, Decimal("0.15")),
        ({"type": "ssd"}, Decimal(30)),
    ]
    assert result["p1"][0].groupby["month"] == "1"


def test_other_periods_scopes_and_unlabelled_samples_are_ignored(tmp_path):
    collector, _ = make(tmp_path, extra_args={"aggregation_method": "count"})
    result = collector.collect("vol", T1, T1 + datetime.timedelta(hours=1), ["p1", "p9"])
    assert quantities(result, "p1") == {"v1": 1}  # the sample at exactly T1
    assert result["p9"] == []


CSV = (
    "timestamp,metric,value,project_id,volume_id,type\n"
    f"{E0 + 10},vol,5,p1,v1,ssd\n"
    "2024-01-01T00:30:00Z,vol,7.25,p1,v1,ssd\n"
    "2024-01-01 00:45:00,vol,1,p1,v2,\n"
    "2024-01-01T01:00:00+00:00,vol,100,p1,v1,ssd\n"
    f"{E0 + 20},cpu,1,p1,,\n"
)


def test_csv_file(tmp_path):
    collector, _ = make(
        tmp_path,
        text=CSV,
        name="usage.csv",
        metadata=["type"],
        extra_args={"aggregation_method": "sum"},
    )
    result = collector.collect("vol", T0, T1, ["p1"])
    assert [(p.groupby["volume_id"], p.metadata["type"], p.qty) for p in result["p1"]] == [
        ("v1", "ssd", Decimal("12.25")),
        ("v2", "", Decimal(1)),
    ]


def test_format_can_be_forced(tmp_path):
    collector, _ = make(tmp_path, text=CSV, name="usage.txt", fmt="csv")
    assert quantities(collector.collect("vol", T0, T1, ["p1"]), "p1") == {"v1": 7.25, "v2": 1}


def test_glob_patterns_and_several_files(tmp_path):
    (tmp_path / "b.om").write_text(f'vol{{project_id="p1",volume_id="v1"}} 2 {E0 + 5}\n')
    (tmp_path / "c.csv").write_text(
        f"timestamp,metric,value,project_id,volume_id\n{E0},vol,3,p1,v1\n"
    )
    collector, _ = make(
        tmp_path,
        name="a.om",
        text=f'vol{{project_id="p1",volume_id="v1"}} 1 {E0 + 1}\n',
        paths=[str(tmp_path / "*.om"), str(tmp_path / "c.csv")],
        extra_args={"aggregation_method": "sum"},
    )
    assert quantities(collector.collect("vol", T0, T1, ["p1"]), "p1") == {"v1": 6}


def test_files_are_read_again_when_they_change(tmp_path):
    collector, path = make(tmp_path, text=f'vol{{project_id="p",volume_id="v"}} 1 {E0}\n')
    assert quantities(collector.collect("vol", T0, T1, ["p"]), "p") == {"v": 1}
    path.write_text(f'vol{{project_id="p",volume_id="v"}} 42 {E0}\n')
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert quantities(collector.collect("vol", T0, T1, ["p"]), "p") == {"v": 42}


def test_missing_file_is_a_source_error(tmp_path):
    collector, path = make(tmp_path)
    path.unlink()
    with pytest.raises(base.SourceUnreachable, match="usage.om"):
        collector.collect("vol", T0, T1, ["p1"])


def test_paths_are_required(tmp_path):
    conf = cfg.ConfigOpts()
    conf([], project="cloudkitty", default_config_files=[])
    with pytest.raises(exceptions.ConfigError, match=r"\[collector_file\] paths"):
        FileCollector(conf, period=3600, scope_key="project_id", metrics={})


@pytest.mark.parametrize("value", ["NaN", "+Inf", "abc", "-3"])
def test_bad_values_name_metric_scope_and_value(tmp_path, value):
    text = f'vol{{project_id="p1",volume_id="v"}} {value} {E0 + 1}\n'
    collector, _ = make(tmp_path, text=text)
    with pytest.raises(base.InvalidQuantity) as err:
        collector.collect("vol", T0, T1, ["p1"])
    assert "metric 'vol', scope 'p1'" in str(err.value) and value in str(err.value)
    assert "Fraction" not in str(err.value)


def test_negative_aggregate_is_shown_as_a_decimal(tmp_path):
    """Two samples averaged exactly to -1.25: the message shows the number."""
    text = (
        f'vol{{project_id="p1",volume_id="v"}} -1 {E0 + 1}\n'
        f'vol{{project_id="p1",volume_id="v"}} -1.5 {E0 + 2}\n'
    )
    collector, _ = make(tmp_path, text=text, extra_args={"aggregation_method": "avg"})
    with pytest.raises(base.InvalidQuantity) as err:
        collector.collect("vol", T0, T1, ["p1"])
    assert "value '-1.25' rejected: negative quantity -1.25" in str(err.value)


def test_openmetrics_label_escapes():
    text = 'm{a="x\\"y",b="back\\\\slash",c="new\\nline", d = "sp ace" ,} 1.5 10.25\n'
    (record,) = file_formats.read_openmetrics(text, "f")
    assert record == file_formats.Record(
        timestamp=Decimal("10.25"),
        metric="m",
        labels={"a": 'x"y', "b": "back\\slash", "c": "new\nline", "d": "sp ace"},
        value="1.5",
    )


def test_openmetrics_sample_without_labels():
    (record,) = file_formats.read_openmetrics("up 1 100\n", "f")
    assert (record.metric, dict(record.labels), record.value) == ("up", {}, "1")


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("m 1", "timestamp"),
        ('m{a="1"} 1 2 3', "timestamp"),
        ("m 1 abc", "not a number of seconds"),
        ("m 1 NaN", "not finite"),
        ('m{a="1} 1 2', "unterminated"),
        ("m{a=1} 1 2", "malformed label set"),
        ('m{a="1",a="2"} 1 2', "given twice"),
        ('m{a="\\t"} 1 2', "invalid escape"),
        ('{a="1"} 1 2', "metric name"),
    ],
)
def test_openmetrics_errors_name_file_and_line(line, fragment):
    with pytest.raises(base.BadSourceAnswer) as err:
        list(file_formats.read_openmetrics(f"# TYPE m gauge\n{line}\n", "usage.om"))
    assert str(err.value).startswith("usage.om:2: ") and fragment in str(err.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("metric,value\nm,1\n", "usage.csv: missing CSV column(s): timestamp"),
        ("timestamp,metric,value\nyesterday-ish,m,1\n", "usage.csv:2: timestamp"),
        ("timestamp,metric,value\n1,,1\n", "usage.csv:2: empty metric"),
        ("timestamp,metric,value\n1,m,1,extra\n", "usage.csv:2: more cells"),
    ],
)
def test_csv_errors(text, fragment):
    with pytest.raises(base.BadSourceAnswer) as err:
        list(file_formats.read_csv(text, "usage.csv"))
    assert fragment in str(err.value)


def test_bad_file_is_reported_on_collect(tmp_path):
    collector, _ = make(tmp_path, text="vol 1\n")
    with pytest.raises(base.BadSourceAnswer, match="usage.om:1"):
        collector.collect("vol", T0, T1, ["p1"])
