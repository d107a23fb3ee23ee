"""The policy enforcer and the one ``authorize`` call the API makes."""

from __future__ import annotations

from typing import Any

from oslo_config import cfg
from oslo_policy import policy

from cloudkitty import exceptions, policies

_ENFORCERS: dict[int, policy.Enforcer] = {}


def get_enforcer(conf: cfg.ConfigOpts | None = None) -> policy.Enforcer:
    """Enforcer bound to ``conf`` (entry point ``oslo.policy.enforcer``)."""
    conf = cfg.CONF if conf is None else conf
    enforcer = _ENFORCERS.get(id(conf))
    if enforcer is None:
        enforcer = policy.Enforcer(conf)
        enforcer.register_defaults(policies.list_rules())
        _ENFORCERS[id(conf)] = enforcer
    return enforcer


def authorize(
    conf: cfg.ConfigOpts, context: Any, rule: str, target: dict[str, Any] | None = None
) -> None:
    """Raise exceptions.Forbidden unless ``context`` may do ``rule`` on ``target``.

    In noauth mode every caller is an admin and nothing is checked.
    """
    if conf.auth_strategy == "noauth":
        return
    creds = context.to_policy_values()
    target = target if target is not None else {"project_id": context.project_id}
    try:
        allowed = get_enforcer(conf).enforce(rule, target, creds)
    except policy.InvalidScope:
        allowed = False
    if not allowed:
        raise exceptions.Forbidden(f"Policy doesn't allow {rule} to be performed.")


def is_admin(conf: cfg.ConfigOpts, context: Any) -> bool:
    if conf.auth_strategy == "noauth":
        return True
    return bool(get_enforcer(conf).enforce("context_is_admin", {}, context.to_policy_values()))
