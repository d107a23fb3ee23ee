"""Policy defaults of the report API resources."""

from oslo_policy import policy

from cloudkitty.policies import base


def list_rules() -> list[policy.RuleDefault]:
    return [
        policy.DocumentedRuleDefault(
            name="report:list_tenants",
            check_str=base.ROLE_ADMIN,
            description="List rated tenants.",
            operations=[
                {"method": "GET", "path": "/v1/report/tenants"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="report:get_summary",
            check_str=base.PROJECT_READER_OR_ADMIN,
            description="Summary report.",
            operations=[
                {"method": "GET", "path": "/v1/report/summary"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="report:get_total",
            check_str=base.PROJECT_READER_OR_ADMIN,
            description="Total report.",
            operations=[
                {"method": "GET", "path": "/v1/report/total"},
            ],
            scope_types=["project"],
        ),
    ]
