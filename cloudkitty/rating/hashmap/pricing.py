"""The per-point hot loop of hashmap pricing: one service's rules, compiled.

``ServicePricer`` turns a service's effective rules (see ``engine.py``) into
plain tuples and lists. A price depends only on the string form of the
attributes the rules look at and on the quantity, so the per-group work is
memoized per combination of attribute *effects* (``_FieldIndex`` tokens) and
a point costs a few dict lookups and a multiply-add. Caches only ever gain
equivalent entries, so threads may share a pricer. Decimal arithmetic runs in
the caller's context: ``engine.py`` sets an exact one.
"""

from __future__ import annotations

import bisect
import collections
import decimal
import threading
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cloudkitty.dataframe import DataPoint
from cloudkitty.rating.hashmap.ruleset import RATE, MappingRule, ThresholdRule

if TYPE_CHECKING:
    from cloudkitty.rating.hashmap.engine import EffectiveService

_ZERO = Decimal(0)
_ONE = Decimal(1)
# The threshold slot of a group starts at level -1 and only a strictly
# greater level takes it, so a level of -1 or lower can never apply.
_FLOOR = Decimal(-1)
_MISSING = object()
# Bound on memory: memoized attribute strings and token tuples per service.
_MEMO_LIMIT = 200_000
# Only for stripping zeros off rule costs: wide enough to never round.
_EXACT = decimal.Context(prec=100)


def _compact(value: Decimal) -> Decimal:
    """The same number without trailing fractional zeros (exact).

    Costs come back from NUMERIC(40,28) with 28 decimals; stripping the
    zeros keeps products short, hence fast and readable.
    """
    value = value.normalize(_EXACT)
    if value.as_tuple().exponent > 0:  # type: ignore[operator]
        value = value.quantize(_ONE, context=_EXACT)
    return value


def _numeric(text: str) -> Decimal | None:
    """The attribute as a finite number, or None when it is not one."""
    try:
        value = Decimal(text)
    except (decimal.InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


# A mapping as the hot loop sees it: (group index, is a rate, cost).
_Effect = tuple[int, bool, Decimal]
# A threshold candidate: (level, is a rate, cost).
_Candidate = tuple[Decimal, bool, Decimal]
_Ladder = tuple[int, list[Decimal], list[_Candidate]]


def _effect(index: Mapping[str, int], mapping: MappingRule) -> _Effect:
    return (index[mapping.group], mapping.map_type == RATE, _compact(mapping.cost))


def _ladders(
    thresholds: Mapping[tuple[str, Decimal], ThresholdRule], index: Mapping[str, int]
) -> list[_Ladder]:
    """Per group, the usable thresholds sorted by level."""
    per_group: dict[int, list[_Candidate]] = {}
    for (group, level), rule in thresholds.items():
        if level > _FLOOR:
            candidate = (level, rule.map_type == RATE, _compact(rule.cost))
            per_group.setdefault(index[group], []).append(candidate)
    return [
        (gi, [c[0] for c in sorted(cands)], sorted(cands))
        for gi, cands in sorted(per_group.items())
    ]


def _apply(flat: list[Decimal], rate: list[Decimal], effect: _Effect) -> None:
    gi, is_rate, cost = effect
    if is_rate:
        rate[gi] = rate[gi] * cost
    elif cost > flat[gi]:
        flat[gi] = cost


class _FieldIndex:
    """Turns one field's attribute value into a small token for the memo.

    Values with the same effect share a token, so the memo holds one entry
    per combination of effects rather than per combination of raw values
    (unmatched values, ids, sizes between two levels all collapse). Token 0
    changes nothing; an absent attribute gets it too.
    """

    def __init__(self, name: str, effects: dict[str, tuple[_Effect, ...]], ladders: list) -> None:
        self.name = name
        self._effects = effects
        self._ladders: list[_Ladder] = ladders
        #: per token: (mapping effects, threshold candidates, a non-numeric value)
        self.infos: list[tuple[tuple[_Effect, ...], tuple, str | None]] = [((), (), None)]
        self._signatures: dict[tuple, int] = {((), (), False): 0}
        self._lock = threading.Lock()
        #: attribute string -> token; filled lazily when the field has thresholds
        self.tokens: dict[str, int] = {}
        self.lazy = bool(ladders)
        if not self.lazy:
            for value, value_effects in effects.items():
                self.tokens[value] = self._intern(value_effects, (), None)

    def _intern(self, effects: tuple, candidates: tuple, bad: str | None) -> int:
        signature = (effects, candidates, bad is not None)
        # Two threads numbering new signatures at once would share a token.
        with self._lock:
            token = self._signatures.get(signature)
            if token is None:
                token = self._signatures[signature] = len(self.infos)
                self.infos.append((effects, candidates, bad))
        return token

    def token(self, text: str) -> int:
        """The token of a value not seen yet (fields with thresholds only)."""
        number = _numeric(text)
        candidates: tuple = ()
        if number is not None:
            candidates = tuple(
                (gi, items[pos - 1])
                for gi, levels, items in self._ladders
                if (pos := bisect.bisect_right(levels, number))
            )
        token = self._intern(
            self._effects.get(text, ()), candidates, text if number is None else None
        )
        if len(self.tokens) >= _MEMO_LIMIT:
            self.tokens.clear()
        self.tokens[text] = token
        return token


class ServicePricer:
    """One service's effective rules compiled for the per-point hot loop."""

    def __init__(self, service: EffectiveService) -> None:
        self.name = service.name
        groups = {m.group for m in service.mappings.values()}
        groups.update(g for g, _ in service.thresholds)
        for fld in service.fields:
            groups.update(g for g, _ in fld.mappings)
            groups.update(g for g, _ in fld.thresholds)
        # A fixed group order keeps the arithmetic deterministic.
        self.size = len(groups)
        index = {g: i for i, g in enumerate(sorted(groups))}

        self.base_flat = [_ZERO] * self.size
        self.base_rate = [_ONE] * self.size
        for mapping in service.mappings.values():
            _apply(self.base_flat, self.base_rate, _effect(index, mapping))

        # Only fields with rules take part in the memo key.
        self.fields: list[_FieldIndex] = []
        for fld in service.fields:
            if fld.mappings or fld.thresholds:
                effects: dict[str, list[_Effect]] = {}
                for (_, value), mapping in fld.mappings.items():
                    effects.setdefault(value, []).append(_effect(index, mapping))
                self.fields.append(
                    _FieldIndex(
                        fld.name,
                        {value: tuple(e) for value, e in effects.items()},
                        _ladders(fld.thresholds, index),
                    )
                )
        self.lookups = tuple((f.name, f.tokens, f if f.lazy else None) for f in self.fields)

        # Service thresholds: the levels cut the quantity axis into intervals
        # in each of which every group's best candidate is fixed.
        ladders = _ladders(service.thresholds, index)
        self.breakpoints = sorted({lvl for _, levels, _ in ladders for lvl in levels})
        self.service_best: list[list[_Candidate | None]] = []
        for i in range(len(self.breakpoints) + 1):
            best: list[_Candidate | None] = [None] * self.size
            for gi, levels, items in ladders:
                pos = bisect.bisect_right(levels, self.breakpoints[i - 1]) if i else 0
                best[gi] = items[pos - 1] if pos else None
            self.service_best.append(best)
        self.memo: dict[tuple[int, ...], tuple[Any, Any, tuple]] = {}

    def entry(self, key: tuple[int, ...]) -> tuple[Any, Any, tuple]:
        """The memo entry of a token tuple: ``(K, intervals, bad)``.

        Without service thresholds the group prices sum to ``qty x K``
        (``K`` None when it is zero); otherwise ``intervals`` lists, per
        quantity interval, ``(A, B)`` with price ``qty x A + B``, filled
        lazily. ``bad`` lists ``(field, example value)`` of non-numeric
        attributes of fields with thresholds.
        """
        flat = list(self.base_flat)
        rate = list(self.base_rate)
        field_best: list[_Candidate | None] = [None] * self.size
        bad = []
        for fld, token in zip(self.fields, key, strict=True):
            effects, candidates, bad_value = fld.infos[token]
            for effect in effects:
                _apply(flat, rate, effect)
            if bad_value is not None:
                bad.append((fld.name, bad_value))
            # Strictly greater: an earlier field keeps a tied slot.
            for gi, candidate in candidates:
                kept = field_best[gi]
                if kept is None or candidate[0] > kept[0]:
                    field_best[gi] = candidate
        state = (flat, rate, field_best)
        entry: tuple[Any, Any, tuple]
        if not self.breakpoints:
            factor, _ = self._linear(state, self.service_best[0])
            entry = (factor if factor else None, None, tuple(bad))
        else:
            entry = (None, (state, [None] * len(self.service_best)), tuple(bad))
        if len(self.memo) >= _MEMO_LIMIT:
            self.memo.clear()
        self.memo[key] = entry
        return entry

    def _linear(
        self, state: tuple, service_best: list[_Candidate | None]
    ) -> tuple[Decimal, Decimal]:
        """``(A, B)`` such that the sum of the group prices is ``qty x A + B``."""
        flat, rate, field_best = state
        per_qty, once = _ZERO, _ZERO
        for gi in range(self.size):
            svc, fld = service_best[gi], field_best[gi]
            # The service candidate was offered first: a tie leaves it in place.
            if svc is not None and (fld is None or svc[0] >= fld[0]):
                _, is_rate, cost = svc
                base = rate[gi] * flat[gi]
                if is_rate:
                    per_qty += base * cost
                else:
                    per_qty += base
                    once += cost
                continue
            group_flat, group_rate = flat[gi], rate[gi]
            if fld is not None:
                _, is_rate, cost = fld
                if is_rate:
                    group_rate = group_rate * cost
                else:
                    group_flat = group_flat + cost
            per_qty += group_rate * group_flat
        return per_qty, once

    def price(
        self, points: tuple[DataPoint, ...], bad_seen: collections.Counter
    ) -> tuple[DataPoint, ...]:
        """New points (the same object when nothing is added to its price)."""
        lookups = self.lookups
        memo = self.memo
        make = DataPoint._make
        breakpoints = self.breakpoints
        out: list[DataPoint] = []
        append = out.append
        for point in points:
            groupby = point[3]
            metadata = point[4]
            tokens: list[int] = []
            for name, known, lazy in lookups:
                value = groupby.get(name, _MISSING)
                if value is _MISSING:
                    value = metadata.get(name, _MISSING)
                    if value is _MISSING:
                        tokens.append(0)
                        continue
                # str() is what matching uses: 8 -> "8" but 8.0 -> "8.0".
                if value.__class__ is not str:
                    value = str(value)
                token = known.get(value)
                if token is None:
                    token = 0 if lazy is None else lazy.token(value)
                tokens.append(token)
            key = tuple(tokens)
            entry = memo.get(key)
            if entry is None:
                entry = self.entry(key)
            factor, intervals, bad = entry
            if bad:
                for field_name, example in bad:
                    bad_seen[(self.name, field_name, example)] += 1
            if factor is not None:
                qty = point[1]
                append(make((point[0], qty, point[2] + qty * factor, groupby, metadata, point[5])))
            elif intervals is not None:
                qty = point[1]
                state, cache = intervals
                pos = bisect.bisect_right(breakpoints, qty)
                linear = cache[pos]
                if linear is None:
                    linear = cache[pos] = self._linear(state, self.service_best[pos])
                delta = qty * linear[0] + linear[1]
                append(make((point[0], qty, point[2] + delta, groupby, metadata, point[5])))
            else:
                append(point)
        return tuple(out)
