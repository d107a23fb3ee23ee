"""Unit conversion of collected values: ``mutate(value x factor + offset)``.

Arithmetic is done on exact rationals (``Fraction``) and only the result is
turned into a ``Decimal``, so factors such as ``1/1048576`` or ``3600/1000000``
lose nothing and ``FLOOR``/``CEIL``/``MAP`` see the exact converted value.
"""

from __future__ import annotations

import decimal
import enum
import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

Decimal = decimal.Decimal

#: Significant digits kept when a result has no finite decimal expansion
#: (e.g. a factor of 1/3). 34 digits is IEEE decimal128: far beyond any meter.
INEXACT_DIGITS = 34

ONE = Fraction(1)
ZERO = Fraction(0)


class Mutator(str, enum.Enum):
    """What happens to a quantity after factor and offset."""

    NONE = "NONE"
    NUMBOOL = "NUMBOOL"  # != 0 -> 1, else 0 (e.g. "the instance existed")
    NOTNUMBOOL = "NOTNUMBOOL"  # == 0 -> 1, else 0
    FLOOR = "FLOOR"
    CEIL = "CEIL"
    MAP = "MAP"  # look the value up in mutate_map; unmatched -> 0


def parse_number(value: Any) -> Fraction:
    """An exact rational from an int, a Decimal, a decimal string, a fraction
    string such as ``"1/1048576"`` or a float (through its shortest ``str``).

    Raises ValueError with a short reason; callers add which key was wrong.
    """
    # bool is an int subclass; True as a factor is almost surely a YAML typo.
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is a boolean, not a number")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, Fraction):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        # str() gives the shortest repr: 0.1 stays 1/10, not the binary value.
        return Fraction(str(value))
    if isinstance(value, str):
        text = value.strip()
        if "/" in text:
            numerator, _, denominator = text.partition("/")
            num = _parse_decimal_text(numerator.strip(), value)
            den = _parse_decimal_text(denominator.strip(), value)
            if den == 0:
                raise ValueError(f"{value!r} divides by zero")
            return num / den
        return _parse_decimal_text(text, value)
    raise ValueError(f"{value!r} is not a number")


def _parse_decimal_text(text: str, original: Any) -> Fraction:
    try:
        number = Decimal(text)
    except decimal.InvalidOperation:
        raise ValueError(f"{original!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{original!r} is not a finite number")
    return Fraction(number)


#: Wide enough that ``normalize`` never rounds a parsed value.
_EXACT = decimal.Context(
    prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[]
)
_DECIMAL_ZERO = Decimal(0)


def decimal_from_text(text: str) -> Decimal:
    """``to_decimal(parse_number(text))`` for a decimal string, without the
    detour through ``Fraction`` (a third of the collection CPU per point).

    Same result, digit for digit: integers come out with exponent 0,
    other values without trailing fractional zeros. Raises ValueError like
    ``parse_number``; fraction strings (``"1/3"``) go through it.
    """
    if "/" in text:
        return to_decimal(parse_number(text))
    try:
        number = Decimal(text)  # ignores surrounding whitespace, like strip()
    except decimal.InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    if not number:
        return _DECIMAL_ZERO  # "-0.0" is 0, as from a Fraction
    # Under _EXACT, normalize only drops trailing zeros: it cannot round.
    number = number.normalize(_EXACT)
    if number.as_tuple().exponent > 0:  # type: ignore[operator]
        return Decimal(int(number))  # 1E+3 -> 1000, as to_decimal spells it
    return number


def to_decimal(value: Fraction) -> Decimal:
    """The Decimal equal to ``value`` when it has a finite decimal expansion
    (denominator made of 2s and 5s), else rounded to INEXACT_DIGITS digits."""
    numerator, denominator = value.numerator, value.denominator
    twos = fives = 0
    rest = denominator
    while rest % 2 == 0:
        rest //= 2
        twos += 1
    while rest % 5 == 0:
        rest //= 5
        fives += 1
    if rest == 1:
        # n / (2^a 5^b) == n * 10^k / (2^a 5^b) * 10^-k with k = max(a, b):
        # an integer scaled by a power of ten, hence exact.
        digits = max(twos, fives)
        scaled = numerator * 10**digits // denominator
        # Built from text: Decimal arithmetic (even scaleb) would round to
        # the context precision, the string constructor never does.
        return Decimal(f"{scaled}E-{digits}") if digits else Decimal(scaled)
    with decimal.localcontext() as ctx:
        ctx.prec = INEXACT_DIGITS
        ctx.rounding = decimal.ROUND_HALF_EVEN
        return Decimal(numerator) / Decimal(denominator)


def mutate(value: Fraction, mutator: Mutator, mutate_map: Mapping[Fraction, Fraction]) -> Fraction:
    """Apply ``mutator`` to an already converted value."""
    if mutator is Mutator.NONE:
        return value
    if mutator is Mutator.NUMBOOL:
        return ONE if value != 0 else ZERO
    if mutator is Mutator.NOTNUMBOOL:
        return ONE if value == 0 else ZERO
    if mutator is Mutator.FLOOR:
        return Fraction(math.floor(value))
    if mutator is Mutator.CEIL:
        return Fraction(math.ceil(value))
    if mutator is Mutator.MAP:
        # Fractions compare exactly, so 1.0, "1" and 1 all hit the key 1.
        return mutate_map.get(value, ZERO)
    raise ValueError(f"unknown mutator {mutator!r}")


def convert(
    value: Decimal | Fraction | int,
    factor: Fraction = ONE,
    offset: Fraction = ZERO,
    mutator: Mutator = Mutator.NONE,
    mutate_map: Mapping[Fraction, Fraction] | None = None,
) -> Decimal:
    """``mutate(value x factor + offset)`` computed exactly, as a Decimal."""
    exact = value if isinstance(value, Fraction) else parse_number(value)
    result = mutate(exact * factor + offset, mutator, mutate_map or {})
    return to_decimal(result)
