"""A rating module that adds a fixed fee per unit of some metrics.

Register it in the ``setup.cfg`` of your package, then enable it like any
module (``cloudkitty module enable fixed_fee``)::

    [options.entry_points]
    cloudkitty.rating.processors =
        fixed_fee = my_package.fixed_fee:FixedFee
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from cloudkitty.dataframe import DataFrame
from cloudkitty.rating import base


class FeeRater:
    """Prices frames with fees read once; called for many scopes and periods."""

    def __init__(self, fees: Mapping[str, Decimal]) -> None:
        self.fees = dict(fees)

    def rate(self, frame: DataFrame, scope_id: str | None) -> DataFrame:
        usage = {}
        for metric_type in frame.metric_types():
            points = frame.points(metric_type)
            fee = self.fees.get(metric_type)
            if fee is not None:
                # Points are immutable: build new ones, adding to the price
                # that modules with a higher priority already set.
                points = tuple(p.with_price(p.price + fee * p.qty) for p in points)
            usage[metric_type] = points
        return frame.replace_usage(usage)


class FixedFee(base.RatingModule):
    name = "fixed_fee"
    description = "Adds a fixed fee per unit of selected metrics."
    hot_config = True

    #: A real module reads its rules from the database in ``load()``
    #: (``with self.db.connect() as conn: ...``), once per rating pass.
    FEES = {"instance": Decimal("0.01"), "volume.size": Decimal("0.0005")}

    def load(self) -> FeeRater:
        return FeeRater(self.FEES)
