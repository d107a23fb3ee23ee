"""The Gnocchi fetcher: the distinct values of one resource attribute
(``[fetcher_gnocchi] scope_attribute``) over some resource types.

Instead of resending every value seen so far (``not in [...]``, a query
that grows with the cloud), each search asks for the resources whose
attribute sorts after the last value seen: the value is the page marker.
A page therefore skips every other resource of a scope already found, so
the number of calls is at most (resources / page size) and usually close to
(scopes / page size).
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any, ClassVar

from oslo_config import cfg

from cloudkitty import exceptions
from cloudkitty.conf import fetcher_gnocchi
from cloudkitty.fetcher import base
from cloudkitty.utils import gnocchi_api

LOG = logging.getLogger(__name__)

#: Resources per search (Gnocchi's default [api] max_limit is 1000).
PAGE_SIZE = 1000


class GnocchiFetcher(base.Fetcher):
    """Lists scopes from Gnocchi resources (``[fetcher_gnocchi]``)."""

    name = "gnocchi"
    conf_module: ClassVar[ModuleType | None] = fetcher_gnocchi

    def __init__(self, conf: cfg.ConfigOpts, *, client: Any = None) -> None:
        super().__init__(conf)
        fetcher_gnocchi.register_opts(conf)
        if client is None:
            client = gnocchi_api.make_client(conf, fetcher_gnocchi.GROUP)
        self.client = client

    def get_scopes(self) -> list[str]:
        scopes: set[str] = set()
        try:
            for resource_type in dict.fromkeys(self.options.resource_types):
                scopes.update(self.values_of(resource_type))
        except exceptions.SourceError as exc:
            raise base.FetcherError(f"gnocchi fetcher: {exc}", exc) from exc
        return sorted(scopes)

    def values_of(self, resource_type: str) -> set[str]:
        """Distinct non-null ``scope_attribute`` values of ``resource_type``."""
        attribute = self.options.scope_attribute
        values: set[str] = set()
        # Nulls would sort first on MySQL and last on PostgreSQL: keep them out.
        query: dict[str, Any] = {"!=": {attribute: None}}
        while True:
            try:
                page = gnocchi_api.call(
                    "resource search",
                    self.client.resource.search,
                    resource_type=resource_type,
                    query=query,
                    details=False,
                    limit=PAGE_SIZE,
                    sorts=[f"{attribute}:asc"],
                )
            except gnocchi_api.NoData:
                return values
            values.update(str(r[attribute]) for r in page if r.get(attribute) is not None)
            if len(page) < PAGE_SIZE:
                return values
            # The database ordered the page, so its last value is the greatest
            # in the database's own collation: ">" continues from there.
            query = {">": {attribute: page[-1][attribute]}}

    def close(self) -> None:
        session = getattr(getattr(self.client, "api", None), "session", None)
        if session is not None:
            session.session.close()
