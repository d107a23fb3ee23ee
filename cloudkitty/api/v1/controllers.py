"""The v1 URL tree, readable at a glance."""

from __future__ import annotations

from typing import Any

import pecan
from pecan import rest

from cloudkitty.api.v1 import rating


class V1Controller(rest.RestController):
    rating = rating.RatingController()
    # Historical alias: /v1/billing/... is /v1/rating/...
    billing = rating

    @pecan.expose()
    def get(self) -> Any:
        pecan.response.status = 405
        return ""
