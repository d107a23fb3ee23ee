"""Policy defaults of the storage API resources."""

from oslo_policy import policy

from cloudkitty.policies import base


def list_rules() -> list[policy.RuleDefault]:
    return [
        policy.DocumentedRuleDefault(
            name="storage:list_data_frames",
            check_str=base.PROJECT_READER_OR_ADMIN,
            description="List rated data frames (v1).",
            operations=[
                {"method": "GET", "path": "/v1/storage/dataframes"},
            ],
            scope_types=["project"],
        ),
    ]
