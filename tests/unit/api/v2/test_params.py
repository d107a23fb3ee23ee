"""The v2 query-string and body conventions, and the exact JSON encoder."""

from __future__ import annotations

import datetime
import decimal

import pytest
from webob.multidict import MultiDict

from cloudkitty import exceptions
from cloudkitty.api.v2 import encoding, params

UTC = datetime.timezone.utc


def query(*pairs: tuple[str, str], allowed=("a", "b", "f", "offset", "limit", "begin", "end")):
    return params.QueryParams(MultiDict(list(pairs)), allowed)


def test_unknown_parameter_is_refused():
    with pytest.raises(exceptions.InvalidInput, match="extra keys not allowed"):
        query(("zzz", "1"))


def test_single_parameter_must_not_repeat():
    assert query(("a", "x")).single("a") == "x"
    assert query().single("a", "dflt") == "dflt"
    with pytest.raises(exceptions.InvalidInput, match="length of value must be 1"):
        query(("a", "x"), ("a", "y")).single("a")


def test_multi_parameter_is_repeated_and_or_comma_separated():
    assert query(("a", "x,y"), ("a", "z"), ("a", "x")).multi("a") == ["x", "y", "z"]
    assert query(("a", "")).multi("a") is None
    assert query().multi("a") is None


def test_dict_single_mode_refuses_a_repeated_key():
    assert query(("f", "k:v,type:cpu")).dict_single("f") == {"k": "v", "type": "cpu"}
    with pytest.raises(exceptions.InvalidInput, match="key k already provided"):
        query(("f", "k:v"), ("f", "k:w")).dict_single("f")


def test_dict_multi_mode_accumulates_values():
    parsed = query(("f", "k:v,k:w"), ("f", "j:1")).dict_multi("f")
    assert parsed == {"k": ["v", "w"], "j": ["1"]}


@pytest.mark.parametrize("token", ["novalue", "a:b:c"])
def test_dict_token_needs_exactly_one_colon(token):
    with pytest.raises(exceptions.InvalidInput, match=f"invalid key:value association {token}"):
        query(("f", token)).dict_multi("f")


def test_pagination_defaults_and_bounds():
    assert query().pagination() == (0, 100)
    assert query(("offset", "5"), ("limit", "1")).pagination() == (5, 1)
    with pytest.raises(exceptions.InvalidInput, match="at least 0"):
        query(("offset", "-1")).pagination()
    with pytest.raises(exceptions.InvalidInput, match="at least 1"):
        query(("limit", "0")).pagination()
    with pytest.raises(exceptions.InvalidInput, match="expected int"):
        query(("limit", "ten")).pagination()


def test_dates_are_lenient_iso_and_default_to_the_current_month():
    parsed = query(("begin", "2019-06-01 02:00:00+02:00"), ("end", "20190723T122810Z"))
    begin, end = parsed.period()
    assert begin == datetime.datetime(2019, 6, 1, tzinfo=UTC)
    assert end == datetime.datetime(2019, 7, 23, 12, 28, 10, tzinfo=UTC)
    begin, end = query().period()
    assert begin.day == 1 and begin.hour == 0 and begin.tzinfo is not None
    assert end > begin
    with pytest.raises(exceptions.InvalidInput, match="path: 'begin'"):
        query(("begin", "yesterday-ish")).period()


def test_body_must_be_an_object_without_unknown_keys():
    assert params.read_body(b"", ("a",)) == {}
    assert params.read_body(b'{"a": 1.10}', ("a",)) == {"a": decimal.Decimal("1.10")}
    with pytest.raises(exceptions.InvalidInput, match="valid JSON"):
        params.read_body(b"{nope", ("a",))
    with pytest.raises(exceptions.InvalidInput, match="valid JSON"):
        params.read_body(b'{"a": NaN}', ("a",))
    with pytest.raises(exceptions.InvalidInput, match="JSON object"):
        params.read_body(b"[1]", ("a",))
    with pytest.raises(exceptions.InvalidInput, match="extra keys not allowed"):
        params.read_body(b'{"b": 1}', ("a",))


def test_body_helpers():
    body = {"s": "a,b", "l": ["c", "d,a"], "t": "true", "n": 3, "long": "x" * 50}
    assert params.body_str_list(body, "s", 40) == ["a", "b"]
    assert params.body_str_list(body, "l", 40) == ["c", "d", "a"]
    assert params.body_bool(body, "t") is True
    with pytest.raises(exceptions.InvalidInput, match="expected bool"):
        params.body_bool(body, "n")
    with pytest.raises(exceptions.InvalidInput, match="at most 40"):
        params.body_str(body, "long", 40)
    with pytest.raises(exceptions.InvalidInput, match="required key not provided"):
        params.body_str(body, "missing", 40, required=True)


def test_decimals_are_json_numbers_with_their_own_digits():
    value = {
        "price": decimal.Decimal("0.1000000000000000000000000000"),
        "big": decimal.Decimal("1E+3"),
        "tiny": decimal.Decimal("0.0000000000000000000000000001"),
        "exact": decimal.Decimal("12345678901234567890.123456789"),
        "when": datetime.datetime(2024, 1, 1, tzinfo=UTC),
        "list": [1, True, None, "é"],
    }
    assert encoding.dumps(value) == (
        '{"price": 0.1, "big": 1000, "tiny": 0.0000000000000000000000000001, '
        '"exact": 12345678901234567890.123456789, "when": "2024-01-01T00:00:00+00:00", '
        '"list": [1, true, null, "\\u00e9"]}'
    )
    assert encoding.dumps({"when": datetime.datetime(2024, 1, 1)}, naive_dates=True) == (
        '{"when": "2024-01-01T00:00:00"}'
    )
    with pytest.raises(ValueError):
        encoding.dumps(decimal.Decimal("NaN"))
    with pytest.raises(TypeError):
        encoding.dumps(object())
