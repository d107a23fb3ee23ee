"""The skip expression: the documented example works, code does not run."""

from __future__ import annotations

import decimal

import pytest

from cloudkitty import exceptions
from cloudkitty.orchestrator import skip


def _point(qty: str) -> dict:
    return {
        "vol": {"unit": "u", "qty": decimal.Decimal(qty)},
        "rating": {"price": 0},
        "groupby": {"project_id": "p"},
        "metadata": {},
    }


def test_documented_example_drops_zero_quantities():
    evaluate = skip.compile_expression('datapoint.get("vol", {}).get("qty", 0) == 0')
    assert evaluate({"datapoint": _point("0")}) is True
    assert evaluate({"datapoint": _point("0.5")}) is False


def test_default_false_keeps_everything():
    assert skip.compile_expression("False")({"datapoint": _point("0")}) is False


def test_boolean_operators_and_subscripts():
    evaluate = skip.compile_expression(
        'datapoint["groupby"]["project_id"] in ("p", "q") and not datapoint["vol"]["qty"] > 1'
    )
    assert evaluate({"datapoint": _point("1")}) is True
    assert evaluate({"datapoint": _point("2")}) is False


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "datapoint.__class__",
        "open('/etc/passwd')",
        "[x for x in datapoint]",
        "lambda: 1",
        "secret_name == 1",
        "datapoint.get('vol', {}).items()",
    ],
)
def test_anything_else_is_a_config_error(text):
    with pytest.raises(exceptions.ConfigError, match="skip_datapoints_expression"):
        skip.compile_expression(text)


def test_syntax_error_names_the_option():
    with pytest.raises(exceptions.ConfigError, match="invalid expression"):
        skip.compile_expression("datapoint ==")
