"""The code and files the documentation shows do what the pages say.

doc/source/examples holds the plugin examples of plugins.rst, the
metrics.yml and usage files of metrics.rst and the rating script of
user/rating.rst; troubleshoot.rst quotes error messages, checked here
against the code that produces them.
"""

from __future__ import annotations

import datetime
import importlib.util
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from oslo_config import cfg

from cloudkitty import conf as ck_conf
from cloudkitty import exceptions
from cloudkitty.collector import base as collector_base
from cloudkitty.collector import metrics
from cloudkitty.collector.file import FileCollector
from cloudkitty.collector.gnocchi import GnocchiCollector
from cloudkitty.collector.prometheus import PrometheusCollector, build_query
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.fetcher import base as fetcher_base
from cloudkitty.orchestrator import skip
from cloudkitty.rating import base as rating_base
from cloudkitty.storage import base as storage_base

DOC = Path(__file__).resolve().parents[2] / "doc" / "source"
EXAMPLES = DOC / "examples"
UTC = datetime.timezone.utc
T0 = datetime.datetime(2024, 5, 1, 10, tzinfo=UTC)
T1 = T0 + datetime.timedelta(hours=1)
T2 = T1 + datetime.timedelta(hours=1)


def load_example(name: str) -> ModuleType:
    """Import doc/source/examples/<name>.py as a module of its own."""
    module_name = f"cloudkitty_doc_example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def make_conf(**groups: dict[str, object]) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    ck_conf.register_all(conf)
    conf([], project="cloudkitty", default_config_files=[])
    for group, values in groups.items():
        for name, value in values.items():
            conf.set_override(name, value, group=group)
    return conf


def point(qty: str, price: str = "0", **groupby: str) -> DataPoint:
    return DataPoint.create("unit", qty, price, groupby=groupby)


# --- plugins.rst ----------------------------------------------------------------


def test_rating_module_example_adds_fees_to_existing_prices() -> None:
    module = load_example("rating_module")
    assert issubclass(module.FixedFee, rating_base.RatingModule)
    rater = module.FixedFee(make_conf(), None).load()
    frame = DataFrame(
        T0,
        T1,
        {
            "instance": [point("2", "1.5", id="vm-1")],
            "volume.size": [point("100", id="vol-1")],
            "image.size": [point("7", "3", id="img-1")],
        },
    )
    rated = rater.rate(frame, "p1")
    assert [p.price for p in rated.points("instance")] == [Decimal("1.52")]
    assert [p.price for p in rated.points("volume.size")] == [Decimal("0.05")]
    assert rated.points("image.size") == frame.points("image.size")  # no fee
    assert frame.points("instance")[0].price == Decimal("1.5")  # input untouched


def constant_definitions(text: str) -> dict[str, metrics.MetricDefinition]:
    cls = load_example("collector").ConstantCollector
    return metrics.parse_metrics(
        yaml.safe_load(text),
        scope_key="project_id",
        extra_args=cls.EXTRA_ARGS,
        check=cls.check_definition,
    )


def test_collector_example_reports_converted_points_for_every_scope() -> None:
    cls = load_example("collector").ConstantCollector
    assert issubclass(cls, collector_base.Collector)
    definitions = constant_definitions(
        "metrics:\n"
        "  disk_bytes:\n"
        "    alt_name: volume.size\n"
        "    unit: GiB\n"
        "    factor: 1/1073741824\n"
        "    groupby: [id]\n"
        "    extra_args: {value: '16106127360', resource_id: vol-1}\n"
    )
    collector = cls(make_conf(), period=3600, scope_key="project_id", metrics=definitions)
    (definition,) = definitions.values()
    result = collector.collect(definition, T0, T1, ["p1", "p2"])
    assert sorted(result) == ["p1", "p2"]
    (p1,) = result["p1"]
    assert p1.qty == Decimal("15")
    assert p1.unit == "GiB"
    assert dict(p1.groupby) == {
        "id": "vol-1",
        "project_id": "p1",
        "week_of_the_year": "17",
        "day_of_the_year": "122",
        "month": "5",
        "year": "2024",
    }


def test_collector_example_checks_its_definitions() -> None:
    with pytest.raises(exceptions.ConfigError, match="negative without allow_negative"):
        constant_definitions("metrics:\n  m:\n    unit: u\n    extra_args: {value: '-1'}\n")
    with pytest.raises(exceptions.ConfigError, match=r"extra_args\.colour': unknown key"):
        constant_definitions("metrics:\n  m:\n    unit: u\n    extra_args: {colour: red}\n")


def test_fetcher_example_reads_scopes_from_its_file(tmp_path: Path) -> None:
    module = load_example("fetcher")
    assert issubclass(module.FileFetcher, fetcher_base.Fetcher)
    scopes = tmp_path / "scopes.txt"
    scopes.write_text("p1\n# a comment\n\np2  # trailing comment\np1\n")
    conf = make_conf()
    fetcher = module.FileFetcher(conf)
    conf.set_override("path", str(scopes), group="fetcher_file")
    assert fetcher.get_scopes() == ["p1", "p2"]
    conf.set_override("path", str(tmp_path / "missing.txt"), group="fetcher_file")
    with pytest.raises(fetcher_base.FetcherError, match="cannot read"):
        fetcher.get_scopes()


@pytest.fixture
def memory_storage():  # type: ignore[no-untyped-def]
    storage = load_example("storage").MemoryStorage(make_conf())
    frames_p1 = [
        DataFrame(
            T0,
            T1,
            {
                "instance": [
                    point("1", "0.5", project_id="p1", id="vm-1", flavor="small"),
                    point("1", "2", project_id="p1", id="vm-2", flavor="large"),
                ],
                "volume.size": [point("10", "0.01", project_id="p1", id="vol-1")],
            },
        ),
        DataFrame(T1, T2, {"instance": [point("1", "0.5", project_id="p1", id="vm-1")]}),
    ]
    frame_p2 = DataFrame(T0, T1, {"instance": [point("1", "0.5", project_id="p2", id="vm-7")]})
    assert storage.push(frames_p1, "p1") == 4
    assert storage.push([frame_p2], "p2") == 1
    return storage


def test_storage_example_retrieve(memory_storage) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(memory_storage, storage_base.StorageBackend)
    everything = memory_storage.retrieve()
    assert everything["total"] == 5
    assert [(f.start, len(f)) for f in everything["dataframes"]] == [(T0, 4), (T1, 1)]
    p1_instances = memory_storage.retrieve(
        begin=T0, end=T1, filters={"project_id": "p1"}, metric_types="instance"
    )
    assert p1_instances["total"] == 2
    page = memory_storage.retrieve(offset=1, limit=2)
    assert page["total"] == 5 and sum(len(f) for f in page["dataframes"]) == 2


def test_storage_example_total(memory_storage) -> None:  # type: ignore[no-untyped-def]
    by_scope = memory_storage.total(groupby=["project_id"], begin=T0, end=T2)
    assert by_scope["total"] == 2
    assert by_scope["results"] == [
        {"begin": T0, "end": T2, "qty": Decimal("13"), "rate": Decimal("3.01"), "project_id": "p1"},
        {"begin": T0, "end": T2, "qty": Decimal("1"), "rate": Decimal("0.5"), "project_id": "p2"},
    ]
    by_type_and_time = memory_storage.total(groupby=["type", "time"], filters={"project_id": "p1"})
    assert [(r["type"], r["begin"], r["rate"]) for r in by_type_and_time["results"]] == [
        ("instance", T0, Decimal("2.5")),
        ("instance", T1, Decimal("0.5")),
        ("volume.size", T0, Decimal("0.01")),
    ]
    by_day = memory_storage.total(groupby=["time-d"], metric_types=["instance"])
    assert by_day["results"][0]["day_of_the_year"] is None  # points made without time keys


def test_storage_example_delete_and_tenants(memory_storage) -> None:  # type: ignore[no-untyped-def]
    assert memory_storage.get_tenants() == ["p1", "p2"]
    assert memory_storage.get_tenants(begin=T1) == ["p1"]
    assert memory_storage.delete(begin=T0, end=T1, filters={"project_id": "p1"}) == 3
    assert memory_storage.retrieve()["total"] == 2
    assert memory_storage.delete() == 2
    assert memory_storage.get_tenants() == []


# --- metrics.rst ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "collector", "scope_key"),
    [
        ("metrics_prometheus.yml", PrometheusCollector, "tenant_id"),
        ("metrics_gnocchi.yml", GnocchiCollector, "project_id"),
        ("metrics_file.yml", FileCollector, "project_id"),
    ],
)
def test_metrics_examples_are_valid(name: str, collector: type, scope_key: str) -> None:
    definitions = metrics.load_metrics(
        str(EXAMPLES / name),
        scope_key=scope_key,
        extra_args=collector.EXTRA_ARGS,
        check=collector.check_definition,
    )
    assert definitions


def test_prometheus_example_query_is_the_one_shown() -> None:
    definitions = metrics.load_metrics(
        str(EXAMPLES / "metrics_prometheus.yml"),
        scope_key="tenant_id",
        extra_args=PrometheusCollector.EXTRA_ARGS,
        check=PrometheusCollector.check_definition,
    )
    query = build_query(
        definitions["openstack_nova_server_status@#instance"], 'tenant_id=~"p1|p2"', 3600
    )
    assert query == (
        'min(min_over_time(openstack_nova_server_status{tenant_id=~"p1|p2"}[3600s]))'
        " by (id, user_id, tenant_id, flavor_id, name)"
    )
    assert " ".join(query.replace(") by", ")\n      by").split()) in " ".join(
        (DOC / "metrics.rst").read_text().split()
    )


@pytest.mark.parametrize("usage_file", ["usage.csv", "usage.prom"])
def test_file_collector_example_gives_the_documented_quantities(usage_file: str) -> None:
    conf = make_conf(
        collect={
            "collector": "file",
            "metrics_conf": str(EXAMPLES / "metrics_file.yml"),
        },
        collector_file={"paths": [str(EXAMPLES / usage_file)]},
    )
    collector = collector_base.load_collector(conf)
    instances = collector.collect("vm_up@#instance", T0, T1, ["p1", "p2"])
    volumes = collector.collect("disk_bytes@#volume.size", T0, T1, ["p1", "p2"])
    (vm,) = instances["p1"]
    assert (vm.qty, vm.groupby["id"], vm.metadata["flavor"]) == (Decimal(1), "vm-1", "m1.small")
    assert [p.groupby["id"] for p in instances["p2"]] == ["vm-7"]
    assert [p.qty for p in volumes["p1"]] == [Decimal(15)]
    assert volumes["p2"] == []


@pytest.mark.parametrize(
    ("expression", "skipped"),
    [
        ("datapoint['vol']['qty'] == 0", True),
        ("datapoint['groupby'].get('flavor_id') in ('f-free', 'f-test')", False),
    ],
)
def test_documented_skip_expressions(expression: str, skipped: bool) -> None:
    evaluate = skip.compile_expression(expression)
    datapoint = point("0", flavor_id="f-paid").to_dict()
    env = {"datapoint": datapoint, "usage_data_metric_name": "instance"}
    assert evaluate(env) is skipped
    assert expression in (DOC / "metrics.rst").read_text()


# --- user/rating.rst ----------------------------------------------------------------


def test_pyscript_example_prices_instances_and_volumes() -> None:
    from cloudkitty.rating.pyscripts import sandbox

    frame = DataFrame(
        T0,
        T1,
        {
            "instance": [
                DataPoint.create("instance", "1", "0.01", metadata={"flavor_name": "m1.large"}),
                DataPoint.create("instance", "2", "0", metadata={"flavor_name": "m9.custom"}),
            ],
            "volume.size": [DataPoint.create("GiB", "250", "0")],
        },
    )
    source = (EXAMPLES / "pyscript_prices.py").read_text()
    rated = sandbox.run(frame, [sandbox.ScriptSource("prices", source)], sandbox.Limits())
    assert [p.price for p in rated.points("instance")] == [Decimal("0.21"), Decimal("0.20")]
    assert [p.price for p in rated.points("volume.size")] == [Decimal("0.1")]


# --- troubleshoot.rst ------------------------------------------------------------------

# (metrics.yml, collector, message quoted in troubleshoot.rst)
DOCUMENTED_ERRORS = [
    ("metrics:\n  cpu:\n    alt_name: instance\n", PrometheusCollector,
     "metric 'cpu': key 'unit': required key not provided"),
    ("metric:\n  cpu:\n    unit: instance\n", PrometheusCollector,
     "unknown top-level key(s): metric"),
    ("metrics:\n  cpu:\n    unit: instance\n    mutate: BOOL\n", PrometheusCollector,
     "metric 'cpu': key 'mutate': 'BOOL' is not one of NONE, NUMBOOL, NOTNUMBOOL, FLOOR, "
     "CEIL, MAP"),
    ("metrics:\n  cpu:\n    unit: instance\n    mutate: MAP\n", PrometheusCollector,
     "metric 'cpu': key 'mutate_map': required with mutate: MAP"),
    ("metrics:\n  cpu:\n    unit: instance\n    groupby: [id]\n    metadata: [id]\n",
     PrometheusCollector,
     "metric 'cpu': key 'metadata': id also in groupby (the scope key 'project_id' is "
     "always in groupby)"),
    ("metrics:\n  cpu:\n    unit: instance\n    groupby: project_id\n", PrometheusCollector,
     "metric 'cpu': key 'groupby': 'project_id' is not a list of attribute names"),
    ("metrics:\n  cpu:\n    unit: instance\n    factor: 1/0\n", PrometheusCollector,
     "metric 'cpu': key 'factor': '1/0' divides by zero"),
    ("metrics:\n  cpu:\n    unit: instance\n", GnocchiCollector,
     "metric 'cpu': key 'extra_args.resource_type': required key not provided"),
    ("metrics:\n  cpu:\n    unit: instance\n    extra_args: {resource_type: instance}\n",
     PrometheusCollector,
     "metric 'cpu': key 'extra_args.resource_type': unknown key (allowed: "
     "aggregation_method, query_function, range_function, query_prefix, query_suffix)"),
    ("metrics:\n  image.size:\n    unit: MiB\n", PrometheusCollector,
     "metric 'image.size': key 'metric': 'image.size' is not a Prometheus metric name"),
    ("metrics:\n  cpu:\n    unit: instance\n    extra_args: {aggregation_method: average}\n",
     PrometheusCollector,
     "metric 'cpu': key 'extra_args.aggregation_method': 'average' is not one of avg, "
     "count, max, min, stddev, stdvar, sum"),
    ("metrics:\n  cpu:\n    unit: instance\n  cpu:\n    unit: x\n", PrometheusCollector,
     "invalid YAML: duplicate key 'cpu'"),
]  # fmt: skip


def _rst_text(name: str) -> str:
    """The page's text with reST line breaks and literal markup removed."""
    return " ".join((DOC / name).read_text().split())


@pytest.mark.parametrize(("text", "collector", "message"), DOCUMENTED_ERRORS)
def test_documented_metrics_errors(
    tmp_path: Path, text: str, collector: type, message: str
) -> None:
    path = tmp_path / "metrics.yml"
    path.write_text(text)
    with pytest.raises(exceptions.ConfigError) as error:
        metrics.load_metrics(
            str(path),
            scope_key="project_id",
            extra_args=collector.EXTRA_ARGS,
            check=collector.check_definition,
        )
    assert str(error.value).startswith(f"{path}: {message}")
    assert f"``{message}``" in _rst_text("troubleshoot.rst")


@pytest.mark.parametrize(
    "expression", ["qty == 0", "len(datapoint) > 0"], ids=["unknown-name", "call"]
)
def test_documented_skip_expression_errors(expression: str) -> None:
    with pytest.raises(exceptions.ConfigError) as error:
        skip.compile_expression(expression)
    assert str(error.value) in _rst_text("troubleshoot.rst")


def test_plugins_page_lists_every_namespace() -> None:
    page = (DOC / "plugins.rst").read_text()
    for namespace in (
        rating_base.NAMESPACE,
        collector_base.NAMESPACE,
        fetcher_base.NAMESPACE,
        storage_base.NAMESPACE,
    ):
        assert f"``{namespace}``" in page
