"""The v2 URL tree, readable at a glance."""

from __future__ import annotations

from pecan import rest

from cloudkitty.api.v2 import rating


class V2Controller(rest.RestController):
    rating = rating.RatingController()
