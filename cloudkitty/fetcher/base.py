"""The fetcher interface and its stevedore loader.

A fetcher answers one question, once per processing sweep: which scopes
(projects, domains, ...) must be rated? It receives its own config group.
"""

from __future__ import annotations

import abc
from types import ModuleType
from typing import Any, ClassVar, cast

from oslo_config import cfg
from stevedore import driver, extension
from stevedore import exception as stevedore_exc

from cloudkitty import exceptions
from cloudkitty.conf import fetcher as fetcher_conf

NAMESPACE = "cloudkitty.fetchers"


class FetcherError(exceptions.BackendError):
    """Listing the scopes failed; the sweep is retried later.

    ``cause`` keeps the underlying exception (also chained as ``__cause__``).
    """

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause
        if cause is not None:
            self.__cause__ = cause


class Fetcher(abc.ABC):
    """Base of every fetcher. Built once per processing worker."""

    #: entry-point name, config value and module name
    name: ClassVar[str]
    #: the config module of the fetcher's own group (None: no options)
    conf_module: ClassVar[ModuleType | None] = None

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self.options: Any = None
        if self.conf_module is not None:
            # Idempotent: identical options may be registered again.
            conf.register_opts(self.conf_module.opts, group=self.conf_module.GROUP)
            self.options = conf[self.conf_module.GROUP]

    @abc.abstractmethod
    def get_scopes(self) -> list[str]:
        """The ids of the scopes to rate, without duplicates.

        Called at the start of every sweep. Raises FetcherError when the
        source cannot answer; the caller keeps the previous sweep's list or
        retries.
        """

    def close(self) -> None:
        """Release connections; the fetcher is not used afterwards."""
        return None  # optional hook: nothing to do by default


def fetcher_class(name: str) -> type[Fetcher]:
    """The installed fetcher class called ``name``; ConfigError otherwise."""
    try:
        manager: driver.DriverManager = driver.DriverManager(NAMESPACE, name, invoke_on_load=False)
    except stevedore_exc.NoMatches:
        installed = sorted(extension.ExtensionManager(NAMESPACE).names())
        raise exceptions.ConfigError(
            f"unknown fetcher '{name}'; installed: {', '.join(installed) or 'none'}"
        ) from None
    except ImportError as exc:
        # Installed but broken (missing dependency): say so at start-up.
        raise exceptions.ConfigError(f"fetcher '{name}' cannot be loaded: {exc}") from exc
    return cast("type[Fetcher]", manager.driver)


def get_fetcher(name: str, conf: cfg.ConfigOpts) -> Fetcher:
    """Instantiate fetcher ``name`` on ``conf``."""
    return fetcher_class(name)(conf)


def load_fetcher(conf: cfg.ConfigOpts) -> Fetcher:
    """The fetcher named by ``[fetcher] backend``."""
    conf.register_opts(fetcher_conf.opts, group=fetcher_conf.GROUP)
    return get_fetcher(conf.fetcher.backend, conf)
