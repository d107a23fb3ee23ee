"""Unit conversion: exact factor/offset and every mutator."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from cloudkitty.utils import units
from cloudkitty.utils.units import Mutator


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (3, Fraction(3)),
        (Decimal("0.25"), Fraction(1, 4)),
        ("1/1048576", Fraction(1, 1048576)),
        ("3600/1000000", Fraction(9, 2500)),
        (" 2.5 ", Fraction(5, 2)),
        ("1e3", Fraction(1000)),
        (0.1, Fraction(1, 10)),  # shortest repr, not the binary value
        ("0.5/2", Fraction(1, 4)),
        ("-3", Fraction(-3)),
        (Fraction(2, 3), Fraction(2, 3)),
    ],
)
def test_parse_number(raw, expected):
    assert units.parse_number(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [True, None, "abc", "1/0", "1/", "/2", "NaN", "inf", float("nan"), float("inf"), [1], ""],
)
def test_parse_number_rejects(raw):
    with pytest.raises(ValueError):
        units.parse_number(raw)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(1, 1048576), "9.5367431640625E-7"),
        (Fraction(5, 2), "2.5"),
        (Fraction(-7, 8), "-0.875"),
        (Fraction(12), "12"),
        (Fraction(0), "0"),
    ],
)
def test_to_decimal_is_exact_for_terminating_fractions(value, expected):
    result = units.to_decimal(value)
    assert result == Decimal(expected)
    assert Fraction(result) == value


def test_to_decimal_rounds_non_terminating_to_34_digits():
    result = units.to_decimal(Fraction(1, 3))
    assert result == Decimal("0." + "3" * 34)
    assert units.to_decimal(Fraction(2, 3)) == Decimal("0." + "6" * 33 + "7")


def test_convert_factor_then_offset():
    # 3 GiB in bytes -> GiB, then +1: offset applies after the factor.
    value = Decimal(3 * 1073741824)
    assert units.convert(value, Fraction(1, 1073741824), Fraction(1)) == Decimal(4)


def test_convert_keeps_every_digit():
    value = Decimal("123456789012345678901234567890.123456789")
    result = units.convert(value, Fraction(1, 1048576))
    # Compared as fractions: Decimal multiplication would round to 28 digits.
    assert Fraction(result) * 1048576 == Fraction(value)


@pytest.mark.parametrize(
    ("mutator", "value", "expected"),
    [
        (Mutator.NONE, "2.7", "2.7"),
        (Mutator.NUMBOOL, "2.7", "1"),
        (Mutator.NUMBOOL, "-0.1", "1"),
        (Mutator.NUMBOOL, "0", "0"),
        (Mutator.NOTNUMBOOL, "0", "1"),
        (Mutator.NOTNUMBOOL, "0.001", "0"),
        (Mutator.FLOOR, "2.7", "2"),
        (Mutator.FLOOR, "-2.2", "-3"),
        (Mutator.CEIL, "2.2", "3"),
        (Mutator.CEIL, "2", "2"),
    ],
)
def test_mutators(mutator, value, expected):
    assert units.convert(Decimal(value), mutator=mutator) == Decimal(expected)


def test_mutate_after_factor():
    # 1536 MiB / 1024 = 1.5 GiB, CEIL -> 2: the mutator sees the converted value.
    assert units.convert(Decimal(1536), Fraction(1, 1024), mutator=Mutator.CEIL) == 2


def test_map_mutator_matches_exact_numbers_and_defaults_to_zero():
    mapping = {Fraction(0): Fraction(1), Fraction(11): Fraction(1), Fraction(5, 2): Fraction(7)}
    assert units.convert(Decimal("0.0"), mutator=Mutator.MAP, mutate_map=mapping) == 1
    assert units.convert(Decimal("11"), mutator=Mutator.MAP, mutate_map=mapping) == 1
    assert units.convert(Decimal("2.50"), mutator=Mutator.MAP, mutate_map=mapping) == 7
    assert units.convert(Decimal("3"), mutator=Mutator.MAP, mutate_map=mapping) == 0


def test_convert_accepts_int_and_fraction():
    assert units.convert(3, Fraction(1, 2)) == Decimal("1.5")
    assert units.convert(Fraction(1, 4)) == Decimal("0.25")


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "-0.0",
        "1",
        "1.50",
        "-1.50",
        "1e3",
        "1E+6",
        "1.000e2",
        "1e-3",
        " 2.5 ",
        "+3",
        "120.50",
        "5e-1",
        "0e5",
        "1_000",
        "1/4",
        " 1 / 8",
        "1/3",
        "1e400",
        "1e-400",
        "123456789012345678901234567890123456789.000100",
    ],
)
def test_decimal_from_text_is_the_exact_path_digit_for_digit(text):
    # Same coefficient and exponent, not only the same value: what the
    # Fraction path returns is what users saw before the fast path.
    expected = units.to_decimal(units.parse_number(text))
    assert units.decimal_from_text(text).as_tuple() == expected.as_tuple()


def test_decimal_from_text_matches_the_exact_path_on_random_texts():
    import random

    rng = random.Random(5)
    for _ in range(2000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 40)))
        cut = rng.randint(0, len(digits))
        text = f"{'-' if rng.random() < 0.3 else ''}{digits[:cut]}.{digits[cut:]}".rstrip(".")
        if text in ("", "-"):
            continue
        if rng.random() < 0.3:
            text += f"e{rng.randint(-40, 40)}"
        expected = units.to_decimal(units.parse_number(text))
        assert units.decimal_from_text(text).as_tuple() == expected.as_tuple(), text


@pytest.mark.parametrize("text", ["abc", "", "NaN", "inf", "-Infinity", "sNaN", "1/0", "1/"])
def test_decimal_from_text_rejects_like_parse_number(text):
    with pytest.raises(ValueError):
        units.decimal_from_text(text)
