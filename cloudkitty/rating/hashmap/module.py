"""The hashmap rating module: loads the rules once, prices with the engine."""

from __future__ import annotations

import importlib
from typing import Any

from cloudkitty.dataframe import DataFrame
from cloudkitty.rating import base
from cloudkitty.rating.hashmap.engine import HashMapEngine
from cloudkitty.rating.hashmap.ruleset import load_ruleset


class HashMapRater:
    """A rater over one snapshot of the rules (any scope, any period)."""

    def __init__(self, engine: HashMapEngine) -> None:
        self.engine = engine

    def rate(self, frame: DataFrame, scope_id: str | None) -> DataFrame:
        return self.engine.price_frame(frame, scope_id)


class HashMap(base.RatingModule):
    name = "hashmap"
    description = "HashMap rating module."
    hot_config = True

    def load(self) -> HashMapRater:
        # One read per rating pass; every scope and period of the pass then
        # prices from memory (upstream re-read the rules row by row each time).
        with self.db.connect() as conn:
            ruleset = load_ruleset(conn)
        return HashMapRater(HashMapEngine(ruleset))

    @classmethod
    def config_controller(cls) -> Any | None:
        # Imported here so that rating never pulls in the web framework.
        try:
            api = importlib.import_module("cloudkitty.rating.hashmap.api")
        except ImportError:
            return None
        return api.HashMapConfigController()
