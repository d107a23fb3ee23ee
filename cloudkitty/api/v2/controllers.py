"""The v2 URL tree, readable at a glance."""

from __future__ import annotations

from pecan import rest

from cloudkitty.api.v2 import dataframes, rating, scope, summary, tasks


class V2Controller(rest.RestController):
    dataframes = dataframes.DataFramesController()
    rating = rating.RatingController()
    scope = scope.ScopeController()
    summary = summary.SummaryController()
    task = tasks.TaskController()
