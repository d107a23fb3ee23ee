"""The rating module interface and its stevedore loader.

A module is loaded once per rating pass: ``load()`` reads its rules from the
database a single time and returns a ``Rater`` that prices any number of
frames, for any scope and period, without touching the database again.
Nothing here imports the web framework: a module's HTTP controller is found
lazily through ``config_controller()``.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

from stevedore import driver, extension

if TYPE_CHECKING:
    from oslo_config import cfg

    from cloudkitty.dataframe import DataFrame
    from cloudkitty.db.engine import Database

NAMESPACE = "cloudkitty.rating.processors"


class Rater(Protocol):
    """Prices frames with rules loaded once."""

    def rate(self, frame: DataFrame, scope_id: str | None) -> DataFrame:
        """Return a new frame whose points carry their new prices.

        ``scope_id`` selects tenant-specific rules (None: global rules only).
        Rules are evaluated as of ``frame.start``. Raises
        ``cloudkitty.exceptions`` errors; never mutates ``frame``.
        """
        ...


class RatingModule(abc.ABC):
    """A rating module: metadata plus a factory of raters."""

    #: entry-point name, config value and module name (``hashmap``)
    name: ClassVar[str]
    description: ClassVar[str]
    #: True when rule changes apply without restarting anything
    hot_config: ClassVar[bool] = True

    def __init__(self, conf: cfg.ConfigOpts, db: Database) -> None:
        self.conf = conf
        self.db = db

    @abc.abstractmethod
    def load(self) -> Rater:
        """Read this module's rules once and return a rater over them."""

    @classmethod
    def config_controller(cls) -> Any | None:
        """The controller mounted at ``/v1/rating/module_config/<name>``.

        None means the module has no configuration API (HTTP 409 there).
        Implementations import their API module lazily, inside this method.
        """
        return None


def module_classes() -> dict[str, type[RatingModule]]:
    """Every installed rating module class, by name (sorted by name)."""
    manager: extension.ExtensionManager[Any] = extension.ExtensionManager(
        NAMESPACE, invoke_on_load=False
    )
    return {ext.name: ext.plugin for ext in sorted(manager, key=lambda e: e.name)}


def get_module_class(name: str) -> type[RatingModule]:
    manager: driver.DriverManager[Any] = driver.DriverManager(NAMESPACE, name, invoke_on_load=False)
    return cast("type[RatingModule]", manager.driver)
