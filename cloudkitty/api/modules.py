"""Rating module states as both API versions read and change them."""

from __future__ import annotations

from typing import Any

import pecan

from cloudkitty import exceptions
from cloudkitty.rating import base, state


def module_view(cls: type[base.RatingModule], st: state.ModuleState) -> dict[str, Any]:
    return {
        "module_id": cls.name,
        "description": cls.description,
        "enabled": st.enabled,
        "hot_config": cls.hot_config,
        "priority": st.priority,
    }


def list_modules() -> list[dict[str, Any]]:
    classes = base.module_classes()
    with pecan.request.db.connect() as conn:
        states = state.get_states(conn, list(classes))
    return [module_view(cls, states[name]) for name, cls in classes.items()]


def get_module(module_id: str) -> dict[str, Any]:
    classes = base.module_classes()
    if module_id not in classes:
        raise exceptions.NotFound("Module not found.")
    with pecan.request.db.connect() as conn:
        st = state.get_states(conn, [module_id])[module_id]
    return module_view(classes[module_id], st)


def update_module(module_id: str, enabled: bool | None, priority: int | None) -> None:
    if module_id not in base.module_classes():
        raise exceptions.NotFound("Module not found.")
    if priority is not None and (isinstance(priority, bool) or priority < 1):
        raise exceptions.InvalidInput("priority must be an integer >= 1")
    with pecan.request.db.begin() as conn:
        state.set_state(conn, module_id, enabled=enabled, priority=priority)
