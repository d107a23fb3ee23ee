"""The metrics.yml schema: load, validate and freeze metric definitions.

Every mistake raises ``ConfigError`` naming the file, the metric and the key,
so an operator can fix the file without reading code. Collector-specific
``extra_args`` are validated against the spec the collector declares.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping
from fractions import Fraction
from types import MappingProxyType
from typing import Any

import yaml

from cloudkitty import exceptions
from cloudkitty.utils import units

Decimal = units.Decimal

#: Separates a metric name from its alt_name in the internal key.
KEY_SEPARATOR = "@#"

_REQUIRED: Any = object()

_ALLOWED_KEYS = (
    "unit",
    "alt_name",
    "description",
    "factor",
    "offset",
    "groupby",
    "metadata",
    "mutate",
    "mutate_map",
    "skip_datapoints_expression",
    "extra_args",
    # Our extension: a metric whose quantities may legitimately be negative.
    "allow_negative",
)


@dataclasses.dataclass(frozen=True)
class ExtraArg:
    """How a collector accepts one ``extra_args`` key.

    ``default`` is ``REQUIRED`` for a key that must be given; ``None`` makes
    the key optional without value. ``kind`` is str, int or bool.
    """

    kind: type = str
    default: Any = _REQUIRED
    choices: Collection[Any] | None = None

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


REQUIRED = _REQUIRED


class InvalidKey(ValueError):
    """Raised by a collector's definition check: ``key`` is wrong because ``reason``."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"key '{key}': {reason}")
        self.key = key
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class MetricDefinition:
    """One way to rate one source metric (frozen, validated)."""

    #: internal key: ``<metric>`` or ``<metric>@#<alt_name>``
    key: str
    #: source metric name (Gnocchi/Prometheus/file metric)
    metric: str
    #: name used in dataframes, the API and as hashmap service
    name: str
    unit: str
    alt_name: str | None = None
    description: str | None = None
    factor: Fraction = units.ONE
    offset: Fraction = units.ZERO
    #: groupby attributes; the scope key is always the last one
    groupby: tuple[str, ...] = ()
    metadata: tuple[str, ...] = ()
    mutate: units.Mutator = units.Mutator.NONE
    mutate_map: Mapping[Fraction, Fraction] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )
    skip_datapoints_expression: str | None = None
    extra_args: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    allow_negative: bool = False

    def __hash__(self) -> int:
        # The mapping fields are unhashable; the key is unique in a config.
        return hash(self.key)

    def quantity(self, value: Decimal | Fraction | int) -> Decimal:
        """``mutate(value x factor + offset)``, exactly."""
        return units.convert(value, self.factor, self.offset, self.mutate, self.mutate_map)


DefinitionCheck = Callable[[MetricDefinition], None]


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys: PyYAML would silently
    keep the last one and a metric definition would vanish."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_unique_mapping,
)


def load_metrics(
    path: str,
    *,
    scope_key: str,
    extra_args: Mapping[str, ExtraArg] | None = None,
    check: DefinitionCheck | None = None,
) -> dict[str, MetricDefinition]:
    """Read and validate ``path``; return definitions by internal key, sorted."""
    try:
        with open(path, encoding="utf-8") as stream:
            data = yaml.load(stream, Loader=_UniqueKeyLoader)
    except OSError as exc:
        raise exceptions.ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        # One line (the processor prints it as its only message): PyYAML's
        # own text spans several lines with the file name repeated.
        problem, mark = getattr(exc, "problem", None), getattr(exc, "problem_mark", None)
        if problem and mark is not None:
            detail = f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
        else:
            detail = " ".join(str(exc).split())
        raise exceptions.ConfigError(f"{path}: invalid YAML: {detail}") from exc
    return parse_metrics(data, scope_key=scope_key, extra_args=extra_args, check=check, source=path)


def parse_metrics(
    data: Any,
    *,
    scope_key: str,
    extra_args: Mapping[str, ExtraArg] | None = None,
    check: DefinitionCheck | None = None,
    source: str = "metrics.yml",
) -> dict[str, MetricDefinition]:
    """Validate an already parsed metrics.yml document."""
    if not isinstance(data, Mapping):
        raise exceptions.ConfigError(f"{source}: the document must be a mapping with key 'metrics'")
    unknown = sorted(str(k) for k in data if k != "metrics")
    if unknown:
        raise exceptions.ConfigError(f"{source}: unknown top-level key(s): {', '.join(unknown)}")
    metrics = data.get("metrics")
    if not isinstance(metrics, Mapping) or not metrics:
        raise exceptions.ConfigError(
            f"{source}: key 'metrics' must map metric names to definitions"
        )
    result: dict[str, MetricDefinition] = {}
    for metric, entries in metrics.items():
        if not isinstance(metric, str) or not metric.strip():
            raise exceptions.ConfigError(f"{source}: metric name {metric!r} must be a string")
        where = f"{source}: metric '{metric}'"
        if isinstance(entries, Mapping):
            entries = [entries]
        if not isinstance(entries, list) or not entries:
            raise exceptions.ConfigError(
                f"{where}: must be a definition or a non-empty list of definitions"
            )
        for index, entry in enumerate(entries):
            label = where if len(entries) == 1 else f"{where} (definition {index + 1})"
            if not isinstance(entry, Mapping):
                raise exceptions.ConfigError(f"{label}: a definition must be a mapping")
            try:
                definition = _parse_definition(metric, entry, scope_key, extra_args or {})
                if check is not None:
                    check(definition)
            except InvalidKey as exc:
                raise exceptions.ConfigError(f"{label}: {exc}") from None
            if definition.key in result:
                raise exceptions.ConfigError(
                    f"{label}: duplicate definition '{definition.key}' "
                    "(same metric and alt_name defined twice)"
                )
            result[definition.key] = definition
    return {key: result[key] for key in sorted(result)}


def _parse_definition(
    metric: str, entry: Mapping[str, Any], scope_key: str, spec: Mapping[str, ExtraArg]
) -> MetricDefinition:
    unknown = sorted(str(k) for k in entry if k not in _ALLOWED_KEYS)
    if unknown:
        raise InvalidKey(unknown[0], f"unknown key (allowed: {', '.join(_ALLOWED_KEYS)})")
    if "unit" not in entry:
        raise InvalidKey("unit", "required key not provided")
    unit = _text(entry, "unit")
    alt_name = _text(entry, "alt_name") if "alt_name" in entry else None
    description = _text(entry, "description", allow_empty=True) if "description" in entry else None
    factor = _number(entry, "factor", units.ONE)
    offset = _number(entry, "offset", units.ZERO)
    groupby = _names(entry, "groupby")
    metadata = _names(entry, "metadata")
    # The scope key is always a groupby attribute: points must be attributable.
    if scope_key not in groupby:
        groupby = (*groupby, scope_key)
    overlap = [name for name in metadata if name in groupby]
    if overlap:
        raise InvalidKey(
            "metadata",
            f"{', '.join(overlap)} also in groupby "
            f"(the scope key '{scope_key}' is always in groupby)",
        )
    mutator, mutate_map = _mutation(entry)
    skip = entry.get("skip_datapoints_expression")
    if skip is not None:
        skip = _expression(skip)
    allow_negative = entry.get("allow_negative", False)
    if not isinstance(allow_negative, bool):
        raise InvalidKey("allow_negative", f"{allow_negative!r} is not a boolean")
    return MetricDefinition(
        key=metric if alt_name is None else f"{metric}{KEY_SEPARATOR}{alt_name}",
        metric=metric,
        name=alt_name or metric,
        unit=unit,
        alt_name=alt_name,
        description=description,
        factor=factor,
        offset=offset,
        groupby=groupby,
        metadata=metadata,
        mutate=mutator,
        mutate_map=MappingProxyType(mutate_map),
        skip_datapoints_expression=skip,
        extra_args=MappingProxyType(_extra_args(entry.get("extra_args", {}), spec)),
        allow_negative=allow_negative,
    )


def _text(entry: Mapping[str, Any], key: str, allow_empty: bool = False) -> str:
    value = entry[key]
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise InvalidKey(key, f"{value!r} is not a non-empty string")
    return value


def _number(entry: Mapping[str, Any], key: str, default: Fraction) -> Fraction:
    if key not in entry:
        return default
    try:
        return units.parse_number(entry[key])
    except ValueError as exc:
        raise InvalidKey(key, str(exc)) from None


def _names(entry: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = entry.get(key) or []
    if not isinstance(value, list):
        raise InvalidKey(key, f"{value!r} is not a list of attribute names")
    names: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise InvalidKey(key, f"{item!r} is not a non-empty string")
        if item in names:
            raise InvalidKey(key, f"'{item}' is listed twice")
        names.append(item)
    return tuple(names)


def _mutation(entry: Mapping[str, Any]) -> tuple[units.Mutator, dict[Fraction, Fraction]]:
    raw = entry.get("mutate", "NONE")
    names = [m.value for m in units.Mutator]
    if not isinstance(raw, str) or raw not in names:
        raise InvalidKey("mutate", f"{raw!r} is not one of {', '.join(names)}")
    mutator = units.Mutator(raw)
    raw_map = entry.get("mutate_map")
    if mutator is not units.Mutator.MAP:
        if raw_map is not None:
            raise InvalidKey("mutate_map", "only allowed with mutate: MAP")
        return mutator, {}
    if raw_map is None:
        raise InvalidKey("mutate_map", "required with mutate: MAP")
    if not isinstance(raw_map, Mapping) or not raw_map:
        raise InvalidKey("mutate_map", "must be a non-empty mapping of number to number")
    mapping: dict[Fraction, Fraction] = {}
    for source, target in raw_map.items():
        try:
            key, value = units.parse_number(source), units.parse_number(target)
        except ValueError as exc:
            raise InvalidKey("mutate_map", str(exc)) from None
        if key in mapping:
            # 1 and 1.0 are the same number: which target wins would be arbitrary.
            raise InvalidKey("mutate_map", f"{source!r} is mapped twice")
        mapping[key] = value
    return mutator, mapping


def _expression(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidKey("skip_datapoints_expression", f"{value!r} is not a non-empty string")
    try:
        # Only parsed here, to fail at start-up rather than on the first point.
        compile(value, "<skip_datapoints_expression>", "eval")
    except SyntaxError as exc:
        raise InvalidKey("skip_datapoints_expression", f"invalid Python: {exc.msg}") from None
    return value


def _extra_args(value: Any, spec: Mapping[str, ExtraArg]) -> dict[str, Any]:
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise InvalidKey("extra_args", f"{value!r} is not a mapping")
    unknown = sorted(str(k) for k in value if k not in spec)
    if unknown:
        allowed = ", ".join(spec) or "none"
        raise InvalidKey(f"extra_args.{unknown[0]}", f"unknown key (allowed: {allowed})")
    result: dict[str, Any] = {}
    for name, arg in spec.items():
        key = f"extra_args.{name}"
        if name not in value:
            if arg.required:
                raise InvalidKey(key, "required key not provided")
            result[name] = arg.default
            continue
        item = value[name]
        if item is None and arg.default is None:
            result[name] = None
            continue
        # bool is an int: "force_granularity: true" must not pass as 1.
        if not isinstance(item, arg.kind) or (arg.kind is not bool and isinstance(item, bool)):
            raise InvalidKey(key, f"{item!r} is not of type {arg.kind.__name__}")
        if arg.choices is not None and item not in arg.choices:
            raise InvalidKey(key, f"{item!r} is not one of {', '.join(map(str, arg.choices))}")
        result[name] = item
    return result
