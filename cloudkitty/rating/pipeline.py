"""The rating pipeline: enabled modules, highest priority first, loaded once."""

from __future__ import annotations

from collections.abc import Sequence

from oslo_config import cfg

from cloudkitty.dataframe import DataFrame
from cloudkitty.db.engine import Database
from cloudkitty.rating import base, state


class Pipeline:
    """Raters applied in order; the output of one is the input of the next."""

    def __init__(self, raters: Sequence[tuple[str, base.Rater]]) -> None:
        self.raters = tuple(raters)

    @property
    def module_names(self) -> list[str]:
        return [name for name, _ in self.raters]

    def rate(self, frame: DataFrame, scope_id: str | None) -> DataFrame:
        for _name, rater in self.raters:
            frame = rater.rate(frame, scope_id)
        return frame


def load_pipeline(
    conf: cfg.ConfigOpts,
    db: Database,
    classes: dict[str, type[base.RatingModule]] | None = None,
) -> Pipeline:
    """Read module states and every enabled module's rules, once.

    Higher priority runs first; ties keep name order (stable sort).
    """
    classes = base.module_classes() if classes is None else classes
    with db.connect() as conn:
        states = state.get_states(conn, list(classes))
    enabled = [name for name in classes if states[name].enabled]
    enabled.sort(key=lambda name: -states[name].priority)
    return Pipeline([(name, classes[name](conf, db).load()) for name in enabled])
