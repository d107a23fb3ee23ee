"""Price quotes: rate hypothetical resources with the current rules.

Computed in the API process with the same pipeline the processor uses (rules
loaded once per request), so a quote needs no RPC round-trip and never
answers "No reply on topic". Two upstream gaps are closed: flat ``desc`` keys
count as attributes (upstream read only ``desc.groupby``/``desc.metadata``),
and the caller's project selects its tenant-specific rules.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Mapping
from typing import Any

from oslo_config import cfg

from cloudkitty import exceptions
from cloudkitty.dataframe import ZERO, DataFrame, DataPoint, to_decimal
from cloudkitty.db.engine import Database
from cloudkitty.rating import pipeline
from cloudkitty.utils import tz

QUOTE_UNIT = "undef"


def _period(conf: cfg.ConfigOpts) -> int:
    try:
        return int(conf.collect.period)
    except (AttributeError, cfg.NoSuchOptError):
        return 3600


def parse_resources(body: Any) -> dict[str, list[DataPoint]]:
    """``{"resources": [{"service", "desc", "volume"}]}`` -> points by service."""
    if not isinstance(body, Mapping) or not isinstance(body.get("resources"), list):
        raise exceptions.InvalidInput('Invalid input: expected {"resources": [...]}')
    unknown = set(body) - {"resources"}
    if unknown:
        raise exceptions.InvalidInput(
            f"Unknown attribute for argument res_data: {sorted(unknown)[0]}"
        )
    usage: dict[str, list[DataPoint]] = {}
    for index, resource in enumerate(body["resources"]):
        if not isinstance(resource, Mapping):
            raise exceptions.InvalidInput(f"resources[{index}] must be an object")
        extra = set(resource) - {"service", "desc", "volume"}
        if extra:
            raise exceptions.InvalidInput(
                f"Unknown attribute for argument resources: {sorted(extra)[0]}"
            )
        service = resource.get("service")
        if not isinstance(service, str) or not service:
            raise exceptions.InvalidInput(
                f"Invalid input for field/attribute service. Value: '{service}'. "
                "Mandatory field missing."
            )
        desc = resource.get("desc") or {}
        if not isinstance(desc, Mapping):
            raise exceptions.InvalidInput(f"resources[{index}].desc must be an object")
        groupby: dict[str, Any] = {}
        metadata: dict[str, Any] = {}
        for key, value in desc.items():
            if key in ("groupby", "metadata") and isinstance(value, Mapping):
                (groupby if key == "groupby" else metadata).update(value)
            else:
                metadata[key] = value
        volume = to_decimal(resource.get("volume", 1), f"resources[{index}].volume")
        usage.setdefault(service, []).append(
            DataPoint.create(QUOTE_UNIT, volume, ZERO, groupby, metadata)
        )
    return usage


def price_quote(conf: cfg.ConfigOpts, db: Database, context: Any, body: Any) -> decimal.Decimal:
    usage = parse_resources(body)
    start = tz.utcnow()
    frame = DataFrame(start, start + datetime.timedelta(seconds=_period(conf)), usage)
    rated = pipeline.load_pipeline(conf, db).rate(frame, getattr(context, "project_id", None))
    return sum((point.price for _, point in rated.iterpoints()), ZERO)
