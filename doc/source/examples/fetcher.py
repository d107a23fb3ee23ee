"""A fetcher that reads the scopes to rate from a file, one id per line.

A fetcher with options declares its config group: here ``[fetcher_file]
path``. Entry point, and configuration to use it::

    [options.entry_points]
    cloudkitty.fetchers =
        file = my_package.file_fetcher:FileFetcher

    # cloudkitty.conf
    [fetcher]
    backend = file
    [fetcher_file]
    path = /etc/cloudkitty/scopes.txt
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import ClassVar

from oslo_config import cfg

from cloudkitty.fetcher import base

GROUP = "fetcher_file"
opts = [
    cfg.StrOpt("path", default="/etc/cloudkitty/scopes.txt", help="File listing scope ids."),
]


class FileFetcher(base.Fetcher):
    name = "file"
    #: a module with GROUP and opts (this one); the base class registers the
    #: options and exposes the group as ``self.options``
    conf_module: ClassVar[ModuleType | None] = sys.modules[__name__]

    def get_scopes(self) -> list[str]:
        try:
            with open(self.options.path, encoding="utf-8") as stream:
                lines = [line.split("#", 1)[0].strip() for line in stream]
        except OSError as error:
            # The sweep is skipped and retried; the processor keeps running.
            raise base.FetcherError(f"cannot read {self.options.path}: {error}", error) from error
        return list(dict.fromkeys(line for line in lines if line))
