"""oslo.policy defaults of every API resource (entry point ``oslo.policy.policies``)."""

from __future__ import annotations

import itertools

from oslo_policy import policy

from cloudkitty.policies import base, collector, dataframes, info, rating, report, scope, storage


def list_rules() -> list[policy.RuleDefault]:
    return list(
        itertools.chain(
            base.list_rules(),
            collector.list_rules(),
            info.list_rules(),
            rating.list_rules(),
            report.list_rules(),
            storage.list_rules(),
            dataframes.list_rules(),
            scope.list_rules(),
        )
    )
