"""metrics.yml validation: good files parse, every mistake names metric and key."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from cloudkitty import exceptions
from cloudkitty.collector import metrics
from cloudkitty.collector.metrics import ExtraArg, InvalidKey
from cloudkitty.utils.units import Mutator

SPEC = {
    "aggregation_method": ExtraArg(str, "max", ("max", "sum", "mean")),
    "resource_type": ExtraArg(str),
    "force_granularity": ExtraArg(int, 3600),
    "use_all_resource_revisions": ExtraArg(bool, True),
    "query_function": ExtraArg(str, None, ("abs", "ceil")),
}


def parse(definitions, **kwargs):
    kwargs.setdefault("scope_key", "project_id")
    kwargs.setdefault("extra_args", SPEC)
    return metrics.parse_metrics({"metrics": definitions}, **kwargs)


def base_def(**extra):
    definition = {"unit": "GiB", "extra_args": {"resource_type": "volume"}}
    definition.update(extra)
    return definition


def test_minimal_definition_gets_defaults():
    result = parse({"volume.size": base_def()})
    assert list(result) == ["volume.size"]
    definition = result["volume.size"]
    assert definition.key == definition.name == definition.metric == "volume.size"
    assert definition.alt_name is None
    assert definition.unit == "GiB"
    assert definition.factor == 1 and definition.offset == 0
    assert definition.groupby == ("project_id",)
    assert definition.metadata == ()
    assert definition.mutate is Mutator.NONE
    assert dict(definition.mutate_map) == {}
    assert definition.skip_datapoints_expression is None
    assert definition.allow_negative is False
    assert dict(definition.extra_args) == {
        "aggregation_method": "max",
        "resource_type": "volume",
        "force_granularity": 3600,
        "use_all_resource_revisions": True,
        "query_function": None,
    }


def test_full_definition():
    result = parse(
        {
            "cpu": base_def(
                alt_name="instance",
                description="Running instances",
                unit="instance",
                factor="1/60",
                offset=2,
                groupby=["id", "user_id"],
                metadata=["flavor_name", "vcpus"],
                mutate="MAP",
                mutate_map={0: 1, "11": 1, 12.5: 0},
                skip_datapoints_expression="datapoint['vol']['qty'] == 0",
                extra_args={"resource_type": "instance", "aggregation_method": "mean"},
            )
        }
    )
    definition = result["cpu@#instance"]
    assert definition.name == "instance"
    assert definition.metric == "cpu"
    assert definition.description == "Running instances"
    assert definition.factor == Fraction(1, 60)
    assert definition.offset == 2
    assert definition.groupby == ("id", "user_id", "project_id")
    assert definition.metadata == ("flavor_name", "vcpus")
    assert definition.mutate is Mutator.MAP
    assert dict(definition.mutate_map) == {0: 1, 11: 1, Fraction(25, 2): 0}
    assert definition.extra_args["aggregation_method"] == "mean"
    # value x factor + offset, then MAP: 660 / 60 + 2 = 13 -> unmapped -> 0
    assert definition.quantity(Decimal(660)) == 0
    assert definition.quantity(Decimal(-120)) == 1  # -2 + 2 = 0 -> 1


def test_definition_is_frozen_and_hashable():
    definition = parse({"m": base_def()})["m"]
    with pytest.raises(AttributeError):
        definition.unit = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        definition.extra_args["resource_type"] = "x"  # type: ignore[index]
    assert {definition: 1}[definition] == 1


def test_list_of_definitions_and_sorted_keys():
    result = parse(
        {
            "zeta": base_def(),
            "cpu": [base_def(alt_name="instance"), base_def(alt_name="vcpus"), base_def()],
        }
    )
    assert list(result) == ["cpu", "cpu@#instance", "cpu@#vcpus", "zeta"]


def test_scope_key_already_in_groupby_is_not_repeated():
    result = parse({"m": base_def(groupby=["project_id", "id"])})
    assert result["m"].groupby == ("project_id", "id")


def test_custom_scope_key():
    result = parse({"m": base_def(groupby=["id"])}, scope_key="domain_id")
    assert result["m"].groupby == ("id", "domain_id")


def test_collector_check_is_applied():
    def check(definition):
        if "." in definition.metric:
            raise InvalidKey("metric", "dots are not allowed")

    with pytest.raises(exceptions.ConfigError) as err:
        parse({"image.size": base_def()}, check=check)
    assert str(err.value) == (
        "metrics.yml: metric 'image.size': key 'metric': dots are not allowed"
    )


def assert_config_error(definitions, metric, key, *fragments, **kwargs):
    with pytest.raises(exceptions.ConfigError) as err:
        parse(definitions, **kwargs)
    message = str(err.value)
    assert f"metric '{metric}'" in message, message
    assert f"key '{key}'" in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.mark.parametrize(
    ("definition", "key", "fragment"),
    [
        ({"extra_args": {"resource_type": "v"}}, "unit", "required"),
        (base_def(unit=""), "unit", "non-empty string"),
        (base_def(unit=3), "unit", "non-empty string"),
        (base_def(alt_name=""), "alt_name", "non-empty"),
        (base_def(alt_name=["x"]), "alt_name", "non-empty"),
        (base_def(description=5), "description", "string"),
        (base_def(factor="abc"), "factor", "not a number"),
        (base_def(factor="1/0"), "factor", "divides by zero"),
        (base_def(factor=True), "factor", "boolean"),
        (base_def(factor=".nan"), "factor", ""),
        (base_def(offset="x"), "offset", "not a number"),
        (base_def(offset=[1]), "offset", "not a number"),
        (base_def(groupby="id"), "groupby", "list"),
        (base_def(groupby=["id", 3]), "groupby", "non-empty string"),
        (base_def(groupby=["id", "id"]), "groupby", "twice"),
        (base_def(metadata={"a": 1}), "metadata", "list"),
        (base_def(groupby=["id"], metadata=["id"]), "metadata", "also in groupby"),
        (base_def(metadata=["project_id"]), "metadata", "scope key"),
        (base_def(mutate="FOO"), "mutate", "'FOO' is not one of NONE, NUMBOOL, NOTNUMBOOL"),
        (base_def(mutate="numbool"), "mutate", "is not one of"),
        (base_def(mutate="MAP"), "mutate_map", "required with mutate: MAP"),
        (base_def(mutate="MAP", mutate_map={}), "mutate_map", "non-empty mapping"),
        (base_def(mutate="MAP", mutate_map=[1]), "mutate_map", "mapping"),
        (base_def(mutate="MAP", mutate_map={"a": 1}), "mutate_map", "not a number"),
        (base_def(mutate="MAP", mutate_map={1: "b"}), "mutate_map", "not a number"),
        (base_def(mutate="MAP", mutate_map={1: 1, "1.0": 2}), "mutate_map", "mapped twice"),
        (base_def(mutate_map={1: 1}), "mutate_map", "only allowed with mutate: MAP"),
        (base_def(mutate="NUMBOOL", mutate_map={1: 1}), "mutate_map", "only allowed"),
        (base_def(skip_datapoints_expression="qty =="), "skip_datapoints_expression", "Python"),
        (base_def(skip_datapoints_expression=1), "skip_datapoints_expression", "string"),
        (base_def(allow_negative="yes"), "allow_negative", "boolean"),
        (base_def(unkown_key=1), "unkown_key", "unknown key"),
        ({"unit": "GiB"}, "extra_args.resource_type", "required"),
        (base_def(extra_args=["x"]), "extra_args", "not a mapping"),
        (base_def(extra_args={"resource_type": "v", "bogus": 1}), "extra_args.bogus", "unknown"),
        (
            base_def(extra_args={"resource_type": "v", "aggregation_method": "median"}),
            "extra_args.aggregation_method",
            "'median' is not one of max, sum, mean",
        ),
        (
            base_def(extra_args={"resource_type": "v", "force_granularity": "60"}),
            "extra_args.force_granularity",
            "not of type int",
        ),
        (
            base_def(extra_args={"resource_type": "v", "force_granularity": True}),
            "extra_args.force_granularity",
            "not of type int",
        ),
        (
            base_def(extra_args={"resource_type": "v", "use_all_resource_revisions": 1}),
            "extra_args.use_all_resource_revisions",
            "not of type bool",
        ),
        (
            base_def(extra_args={"resource_type": None}),
            "extra_args.resource_type",
            "not of type str",
        ),
    ],
)
def test_bad_definition_names_metric_and_key(definition, key, fragment):
    assert_config_error({"cpu": definition}, "cpu", key, fragment)


def test_optional_extra_arg_accepts_null():
    definition = base_def(extra_args={"resource_type": "v", "query_function": None})
    assert parse({"m": definition})["m"].extra_args["query_function"] is None


def test_bad_definition_in_a_list_says_which():
    message = assert_config_error(
        {"cpu": [base_def(), base_def(alt_name="x", mutate="X")]}, "cpu", "mutate"
    )
    assert "(definition 2)" in message


@pytest.mark.parametrize(
    "definitions",
    [
        {"cpu": [base_def(), base_def()]},
        {"cpu": [base_def(alt_name="i"), base_def(alt_name="i", unit="x")]},
    ],
)
def test_duplicate_definitions_are_rejected(definitions):
    with pytest.raises(exceptions.ConfigError, match=r"metric 'cpu'.*duplicate definition 'cpu"):
        parse(definitions)


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        (None, "mapping with key 'metrics'"),
        ([], "mapping with key 'metrics'"),
        ({}, "key 'metrics'"),
        ({"metrics": {}}, "key 'metrics'"),
        ({"metrics": ["cpu"]}, "key 'metrics'"),
        ({"metrics": {"cpu": base_def()}, "period": 3600}, "unknown top-level key(s): period"),
    ],
)
def test_bad_documents(document, fragment):
    with pytest.raises(exceptions.ConfigError) as err:
        metrics.parse_metrics(document, scope_key="project_id", extra_args=SPEC)
    assert fragment in str(err.value)


@pytest.mark.parametrize("entries", [[], None, "GiB", 3])
def test_metric_must_have_definitions(entries):
    with pytest.raises(exceptions.ConfigError, match="metric 'cpu': must be a definition"):
        parse({"cpu": entries})


def test_definition_in_a_list_must_be_a_mapping():
    with pytest.raises(exceptions.ConfigError, match=r"metric 'cpu' \(definition 2\): .*mapping"):
        parse({"cpu": [base_def(), "GiB"]})


def test_metric_name_must_be_a_string():
    with pytest.raises(exceptions.ConfigError, match="metric name 3"):
        parse({3: base_def()})


def test_load_metrics_from_file(tmp_path):
    path = tmp_path / "metrics.yml"
    path.write_text(
        "metrics:\n"
        "  image.size:\n"
        "    unit: MiB\n"
        "    factor: 1/1048576\n"
        "    metadata: [disk_format]\n"
        "    extra_args: {resource_type: image}\n"
        "  cpu:\n"
        "    - unit: instance\n"
        "      alt_name: instance\n"
        "      mutate: NUMBOOL\n"
        "      extra_args: {resource_type: instance}\n"
    )
    result = metrics.load_metrics(str(path), scope_key="project_id", extra_args=SPEC)
    assert list(result) == ["cpu@#instance", "image.size"]
    assert result["image.size"].quantity(Decimal(1048576 * 3)) == 3


def test_load_metrics_names_the_file_in_errors(tmp_path):
    path = tmp_path / "metrics.yml"
    path.write_text("metrics:\n  cpu:\n    unit: x\n    mutate: BAD\n")
    with pytest.raises(exceptions.ConfigError) as err:
        metrics.load_metrics(str(path), scope_key="project_id")
    assert str(err.value).startswith(f"{path}: metric 'cpu': key 'mutate': 'BAD'")


def test_load_metrics_rejects_duplicate_yaml_keys(tmp_path):
    path = tmp_path / "metrics.yml"
    path.write_text("metrics:\n  cpu:\n    unit: a\n  cpu:\n    unit: b\n")
    with pytest.raises(exceptions.ConfigError, match="duplicate key 'cpu'"):
        metrics.load_metrics(str(path), scope_key="project_id")


def test_load_metrics_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(exceptions.ConfigError, match="cannot read"):
        metrics.load_metrics(str(tmp_path / "nope.yml"), scope_key="project_id")
    path = tmp_path / "bad.yml"
    path.write_text("metrics: [unclosed\n")
    with pytest.raises(exceptions.ConfigError, match="invalid YAML"):
        metrics.load_metrics(str(path), scope_key="project_id")


def test_yaml_tags_are_not_executed(tmp_path):
    path = tmp_path / "evil.yml"
    path.write_text("metrics: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(exceptions.ConfigError, match="invalid YAML"):
        metrics.load_metrics(str(path), scope_key="project_id")
