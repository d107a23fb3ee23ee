"""The parent's reading of child output: a JSON codec and strict event parsing."""

from __future__ import annotations

import datetime
import decimal
import pickle

import pytest

from cloudkitty.rating.pyscripts import runner, sandbox

UTC = datetime.timezone.utc


def test_codec_round_trip():
    value = {
        "price": decimal.Decimal("0.1000000000000000000000000001"),
        "begin": datetime.datetime(2024, 1, 1, 12, 30, tzinfo=UTC),
        "day": datetime.date(2024, 1, 2),
        "tuple": (1, "a"),
        "float": 1.5,
        "none": None,
    }
    decoded = runner.loads(runner.dumps(value))
    assert decoded == {**value, "tuple": [1, "a"]}
    assert isinstance(decoded["price"], decimal.Decimal)


@pytest.mark.parametrize(
    "text",
    [
        b'{"__decimal__": 1}',
        b'{"__decimal__": "abc"}',
        b'{"__decimal__": "' + b"9" * 300 + b'"}',
        b'{"__datetime__": "yesterday"}',
        b'{"x": NaN}',
        b"[" * 100000 + b"]" * 100000,
        pickle.dumps({"a": 1}),
    ],
)
def test_codec_rejects_malformed_input(text):
    with pytest.raises((ValueError, RecursionError, UnicodeDecodeError)):
        runner.loads(text)


def test_codec_refuses_nan_and_unknown_types():
    with pytest.raises(ValueError):
        runner.dumps({"x": float("nan")})
    with pytest.raises(TypeError):
        runner.dumps({"x": object()})


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [
        (b"", (None, None, False)),
        (b'{"event":"running","index":1}\n', (1, None, False)),
        (b'{"event":"running","index":0}\n{"event":"res', (0, None, True)),
        (b'{"event":"running","index":5}\n', (None, None, True)),
        (b'{"event":"running","index":true}\n', (None, None, True)),
        (b'{"event":"error","index":0,"reason":7}\n', (None, None, True)),
        (b'{"event":"surprise"}\n', (None, None, True)),
        (b"[1, 2]\n", (None, None, True)),
        (b"\xff\xfe\n", (None, None, True)),
    ],
)
def test_parse_rejects_anything_unexpected(stdout, expected):
    assert sandbox._parse(stdout, 2) == expected


def test_parse_returns_final_event_and_truncates_reasons():
    stdout = b'{"event":"running","index":0}\n{"event":"error","index":0,"reason":"'
    stdout += b"x" * 5000 + b'"}\n'
    running, final, malformed = sandbox._parse(stdout, 1)
    assert (running, malformed) == (0, False)
    assert final is not None and len(final["reason"]) == runner.MAX_REASON_CHARS
