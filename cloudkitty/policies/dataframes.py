"""Policy defaults of the dataframes API resources."""

from oslo_policy import policy

from cloudkitty.policies import base


def list_rules() -> list[policy.RuleDefault]:
    return [
        policy.DocumentedRuleDefault(
            name="dataframes:add",
            check_str=base.ROLE_ADMIN,
            description="Add rated data frames.",
            operations=[
                {"method": "POST", "path": "/v2/dataframes"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="dataframes:get",
            check_str=base.PROJECT_READER_OR_ADMIN,
            description="List rated data frames.",
            operations=[
                {"method": "GET", "path": "/v2/dataframes"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="summary:get_summary",
            check_str=base.PROJECT_READER_OR_ADMIN,
            description="Summary of rated data.",
            operations=[
                {"method": "GET", "path": "/v2/summary"},
            ],
            scope_types=["project"],
        ),
    ]
