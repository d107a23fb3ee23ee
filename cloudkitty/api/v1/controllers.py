"""The v1 URL tree, readable at a glance.

/v1/rating/...        modules, reload, quote, module configuration
/v1/billing/...       historical alias of /v1/rating
/v1/collector/...     deprecated collector mappings and states
/v1/info/...          metrics.yml: metrics (alias services) and config
/v1/report/...        tenants, total, summary
/v1/storage/...       rated dataframes
"""

from __future__ import annotations

from typing import Any

import pecan
from pecan import rest

from cloudkitty.api.v1 import collector, info, rating, report, storage


class V1Controller(rest.RestController):
    rating = rating.RatingController()
    # Historical alias: /v1/billing/... is /v1/rating/...
    billing = rating
    collector = collector.CollectorController()
    info = info.InfoController()
    report = report.ReportController()
    storage = storage.StorageController()

    @pecan.expose()
    def get(self) -> Any:
        pecan.response.status = 405
        return ""
