"""The source fetcher: the static scope list ``[fetcher_source] sources``."""

from __future__ import annotations

from types import ModuleType
from typing import ClassVar

from cloudkitty.conf import fetcher_source
from cloudkitty.fetcher import base


class SourceFetcher(base.Fetcher):
    """Rates exactly the configured scopes (handy for tests and quickstarts)."""

    name = "source"
    conf_module: ClassVar[ModuleType | None] = fetcher_source

    def get_scopes(self) -> list[str]:
        # Config lists may repeat an id or carry blanks around commas.
        scopes = (s.strip() for s in self.options.sources)
        return list(dict.fromkeys(s for s in scopes if s))
