"""Policy defaults of the rating API resources."""

from oslo_policy import policy

from cloudkitty.policies import base


def list_rules() -> list[policy.RuleDefault]:
    return [
        policy.DocumentedRuleDefault(
            name="rating:list_modules",
            check_str=base.ROLE_ADMIN,
            description="List rating modules.",
            operations=[
                {"method": "GET", "path": "/v1/rating/modules"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="rating:get_module",
            check_str=base.ROLE_ADMIN,
            description="Show a rating module.",
            operations=[
                {"method": "GET", "path": "/v1/rating/modules/{module_id}"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="rating:update_module",
            check_str=base.ROLE_ADMIN,
            description="Enable, disable or reprioritise a module.",
            operations=[
                {"method": "PUT", "path": "/v1/rating/modules/{module_id}"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="rating:quote",
            check_str=base.UNPROTECTED,
            description="Price a set of resources.",
            operations=[
                {"method": "POST", "path": "/v1/rating/quote"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="rating:module_config",
            check_str=base.ROLE_ADMIN,
            description="Configure a rating module (hashmap, pyscripts).",
            operations=[
                {"method": "GET", "path": "/v1/rating/module_config/{module}/*"},
                {"method": "POST", "path": "/v1/rating/module_config/{module}/*"},
                {"method": "PUT", "path": "/v1/rating/module_config/{module}/*"},
                {"method": "DELETE", "path": "/v1/rating/module_config/{module}/*"},
                {"method": "GET", "path": "/v1/rating/reload_modules"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="v2_rating:list_modules",
            check_str=base.ROLE_ADMIN,
            description="List rating modules (v2).",
            operations=[
                {"method": "GET", "path": "/v2/rating/modules"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="v2_rating:get_module",
            check_str=base.ROLE_ADMIN,
            description="Show a rating module (v2).",
            operations=[
                {"method": "GET", "path": "/v2/rating/modules/{module_id}"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="v2_rating:update_module",
            check_str=base.ROLE_ADMIN,
            description="Update a rating module (v2).",
            operations=[
                {"method": "PUT", "path": "/v2/rating/modules/{module_id}"},
            ],
            scope_types=["project"],
        ),
    ]
