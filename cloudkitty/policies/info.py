"""Policy defaults of the info API resources."""

from oslo_policy import policy

from cloudkitty.policies import base


def list_rules() -> list[policy.RuleDefault]:
    return [
        policy.DocumentedRuleDefault(
            name="info:list_services_info",
            check_str=base.UNPROTECTED,
            description="List services (deprecated alias).",
            operations=[
                {"method": "GET", "path": "/v1/info/services"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="info:get_service_info",
            check_str=base.UNPROTECTED,
            description="Show a service (deprecated alias).",
            operations=[
                {"method": "GET", "path": "/v1/info/services/{name}"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="info:list_metrics_info",
            check_str=base.UNPROTECTED,
            description="List metrics.",
            operations=[
                {"method": "GET", "path": "/v1/info/metrics"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="info:get_metric_info",
            check_str=base.UNPROTECTED,
            description="Show a metric.",
            operations=[
                {"method": "GET", "path": "/v1/info/metrics/{metric_id}"},
            ],
            scope_types=["project"],
        ),
        policy.DocumentedRuleDefault(
            name="info:get_config",
            check_str=base.UNPROTECTED,
            description="Show the metrics configuration.",
            operations=[
                {"method": "GET", "path": "/v1/info/config"},
            ],
            scope_types=["project"],
        ),
    ]
