"""Exact decimal text and JSON-safe documents."""

from __future__ import annotations

import datetime
import decimal
import json

import pytest

from cloudkitty.api.v1.render import decimal_text, json_safe

D = decimal.Decimal


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("5.8320000000000000000000000000"), "5.832"),
        (D("0E-28"), "0"),
        (D("-0"), "0"),
        (0, "0"),
        (D("1E+2"), "100"),
        (D("100"), "100"),
        (D("100.000"), "100"),
        (D("0.0000000000000000000000000001"), "0.0000000000000000000000000001"),
        (D("123456789012.3000000000001"), "123456789012.3000000000001"),
        (D("-1.50"), "-1.5"),
        (D("1E-30"), "0.000000000000000000000000000001"),
    ],
)
def test_decimal_text(value, text):
    assert decimal_text(value) == text
    assert D(text) == value  # exact: nothing rounded


def test_json_safe_spells_every_value():
    document = {
        1: D("0.10"),
        "when": datetime.date(2019, 6, 1),
        "at": datetime.datetime(2019, 6, 1, 12, 30),
        "raw": b"\x00\x01",
        "set": {"b", "a"},
        "nested": [(1, 2.5, None, True)],
        "other": object,
    }
    safe = json_safe(document)
    json.dumps(safe)  # does not raise
    assert safe["1"] == "0.1"
    assert safe["when"] == "2019-06-01"
    assert safe["at"] == "2019-06-01T12:30:00"
    assert safe["raw"] == "AAE="
    assert safe["set"] == ["a", "b"]
    assert safe["nested"] == [[1, 2.5, None, True]]
    assert safe["other"] == str(object)
