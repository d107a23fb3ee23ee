"""Base rules the endpoint rules are built from."""

from oslo_policy import policy

ROLE_ADMIN = "role:admin"
UNPROTECTED = ""
PROJECT_READER_OR_ADMIN = "rule:project_reader_or_admin"
PROJECT_MEMBER_OR_ADMIN = "rule:project_member_or_admin"

_DEPRECATED_ADMIN_OR_OWNER = policy.DeprecatedRule(
    name="admin_or_owner",
    check_str="is_admin:True or (role:admin and is_admin_project:True) or "
    "project_id:%(project_id)s",
    deprecated_reason="Replaced by the secure-RBAC project_* rules.",
    deprecated_since="2024.1",
)


def list_rules() -> list[policy.RuleDefault]:
    return [
        policy.RuleDefault("context_is_admin", ROLE_ADMIN, "Decides who is an admin."),
        policy.RuleDefault(
            "admin_or_owner",
            "is_admin:True or (role:admin and is_admin_project:True) or project_id:%(project_id)s",
            "Deprecated: admin or owner of the project.",
        ),
        policy.RuleDefault("default", UNPROTECTED, "Rule used when no other matches."),
        policy.RuleDefault(
            "project_member_api",
            "role:member and project_id:%(project_id)s",
            "Member of the target project.",
            deprecated_rule=_DEPRECATED_ADMIN_OR_OWNER,
        ),
        policy.RuleDefault(
            "project_reader_api",
            "role:reader and project_id:%(project_id)s",
            "Reader of the target project.",
            deprecated_rule=_DEPRECATED_ADMIN_OR_OWNER,
        ),
        policy.RuleDefault(
            "project_member_or_admin",
            "rule:project_member_api or rule:context_is_admin",
            "Member of the target project, or admin.",
            deprecated_rule=_DEPRECATED_ADMIN_OR_OWNER,
        ),
        policy.RuleDefault(
            "project_reader_or_admin",
            "rule:project_reader_api or rule:context_is_admin",
            "Reader of the target project, or admin.",
            deprecated_rule=_DEPRECATED_ADMIN_OR_OWNER,
        ),
    ]
