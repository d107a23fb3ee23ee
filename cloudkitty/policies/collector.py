"""Policy defaults of the collector API resources."""

from oslo_policy import policy

from cloudkitty.policies import base


def list_rules() -> list[policy.RuleDefault]:
    return [
        policy.DocumentedRuleDefault(
            name="collector:list_mappings",
            check_str=base.ROLE_ADMIN,
            description="List collector mappings.",
            operations=[
                {"method": "GET", "path": "/v1/collector/mappings"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="collector:get_mapping",
            check_str=base.ROLE_ADMIN,
            description="Show a collector mapping.",
            operations=[
                {"method": "GET", "path": "/v1/collector/mappings/{service}"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="collector:manage_mapping",
            check_str=base.ROLE_ADMIN,
            description="Create or delete a collector mapping.",
            operations=[
                {"method": "POST", "path": "/v1/collector/mappings"},
                {"method": "DELETE", "path": "/v1/collector/mappings/{service}"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="collector:get_state",
            check_str=base.ROLE_ADMIN,
            description="Show a collector state.",
            operations=[
                {"method": "GET", "path": "/v1/collector/states/{name}"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="collector:update_state",
            check_str=base.ROLE_ADMIN,
            description="Enable or disable a collector.",
            operations=[
                {"method": "PUT", "path": "/v1/collector/states/{name}"},
            ],
            scope_types=["project"],
        ),
    ]
