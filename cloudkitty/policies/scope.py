"""Policy defaults of the scope API resources."""

from oslo_policy import policy

from cloudkitty.policies import base


def list_rules() -> list[policy.RuleDefault]:
    return [
        policy.DocumentedRuleDefault(
            name="scope:get_state",
            check_str=base.ROLE_ADMIN,
            description="List scope states.",
            operations=[
                {"method": "GET", "path": "/v2/scope"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="scope:reset_state",
            check_str=base.ROLE_ADMIN,
            description="Reset scope states.",
            operations=[
                {"method": "PUT", "path": "/v2/scope"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="scope:patch_state",
            check_str=base.ROLE_ADMIN,
            description="Update a scope state.",
            operations=[
                {"method": "PATCH", "path": "/v2/scope"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="scope:post_state",
            check_str=base.ROLE_ADMIN,
            description="Create a scope state.",
            operations=[
                {"method": "POST", "path": "/v2/scope"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="schedule:task_reprocesses",
            check_str=base.ROLE_ADMIN,
            description="Schedule reprocessing.",
            operations=[
                {"method": "POST", "path": "/v2/task/reprocesses"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="schedule:get_task_reprocesses",
            check_str=base.ROLE_ADMIN,
            description="List reprocessing tasks.",
            operations=[
                {"method": "GET", "path": "/v2/task/reprocesses"},
                {"method": "GET", "path": "/v2/task/reprocesses/{scope_id}"},
            ],
            scope_types=["project"],
        ),
    ]
