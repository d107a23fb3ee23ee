"""``skip_datapoints_expression``: a tiny, safe expression language.

Upstream ``eval``-ed the expression inside the processor. Here it is parsed
once with ``ast`` and only a small subset is accepted: literals, names of
the documented variables, comparisons, ``and``/``or``/``not``, subscripts
and the ``.get()`` method of dicts. Anything else is a ConfigError at start.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any

from cloudkitty import exceptions

VARIABLES = frozenset({"datapoint", "usage_data_metric_name"})

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}

Evaluator = Callable[[Mapping[str, Any]], Any]


def never(env: Mapping[str, Any]) -> bool:
    """The default expression: no point is ever skipped."""
    return False


def compile_expression(text: str, option: str = "skip_datapoints_expression") -> Evaluator:
    """Parse ``text`` into an evaluator; raise ConfigError naming ``option``."""
    if text.strip() in ("", "False"):
        return never  # the default: lets callers skip per-point work
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise exceptions.ConfigError(
            f"{option}: invalid expression {text!r}: {error.msg}"
        ) from None
    try:
        return _build(tree.body)
    except _Unsupported as error:
        raise exceptions.ConfigError(f"{option}: {error} in {text!r}") from None


class _Unsupported(Exception):
    pass


def _build(node: ast.AST) -> Evaluator:
    if isinstance(node, ast.Constant):
        value = node.value
        return lambda env: value
    if isinstance(node, ast.Name):
        if node.id in ("True", "False", "None"):
            constant = {"True": True, "False": False, "None": None}[node.id]
            return lambda env: constant
        if node.id not in VARIABLES:
            raise _Unsupported(f"unknown name '{node.id}'")
        name = node.id
        return lambda env: env[name]
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_build(item) for item in node.elts]
        return lambda env: tuple(item(env) for item in items)
    if isinstance(node, ast.Dict) and not node.keys:
        # Only the empty dict, the usual default of .get().
        return lambda env: {}
    if isinstance(node, ast.BoolOp):
        values = [_build(v) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda env: all(v(env) for v in values)
        return lambda env: any(v(env) for v in values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        operand = _build(node.operand)
        return lambda env: not operand(env)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = _build(node.operand)
        return lambda env: -operand(env)
    if isinstance(node, ast.Compare):
        return _build_compare(node)
    if isinstance(node, ast.Subscript):
        container = _build(node.value)
        key = _build(node.slice)
        return lambda env: container(env)[key(env)]
    if isinstance(node, ast.Call):
        return _build_get(node)
    raise _Unsupported(f"'{type(node).__name__}' is not allowed")


def _build_compare(node: ast.Compare) -> Evaluator:
    left = _build(node.left)
    steps = []
    for op, right in zip(node.ops, node.comparators, strict=True):
        if type(op) not in _COMPARE:
            raise _Unsupported(f"operator '{type(op).__name__}' is not allowed")
        steps.append((_COMPARE[type(op)], _build(right)))

    def evaluate(env: Mapping[str, Any]) -> bool:
        current = left(env)
        for compare, right in steps:
            value = right(env)
            if not compare(current, value):
                return False
            current = value
        return True

    return evaluate


def _build_get(node: ast.Call) -> Evaluator:
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr == "get") or node.keywords:
        raise _Unsupported("only the .get() method of dicts may be called")
    if not 1 <= len(node.args) <= 2:
        raise _Unsupported(".get() takes a key and an optional default")
    target = _build(func.value)
    key = _build(node.args[0])
    default = _build(node.args[1]) if len(node.args) == 2 else (lambda env: None)

    def evaluate(env: Mapping[str, Any]) -> Any:
        mapping = target(env)
        if not isinstance(mapping, Mapping):
            return default(env)
        return mapping.get(key(env), default(env))

    return evaluate
