"""Accounts: roles, users, passwords, access and API tokens, the grid-edit access rules and the
audit log. The names below are the domain's public face; `access` and `audit` are imported as
modules."""

from api.accounts.roles import (
    PERSONAL_DATA_ROLES,
    WORKER_ROLES,
    Principal,
    Role,
    sees_personal_data,
)
from api.accounts.tokens import (
    create_api_token,
    issue_token,
    list_api_tokens,
    principal_from_token,
    revoke_api_token,
    signing_secret,
)
from api.accounts.users import (
    authenticate,
    create_user,
    demo_accounts,
    hash_password,
    list_users,
    password_problem,
    principal_for,
    set_disabled,
    set_password,
    verify_password,
)

__all__ = [
    "PERSONAL_DATA_ROLES",
    "WORKER_ROLES",
    "Principal",
    "Role",
    "authenticate",
    "create_api_token",
    "create_user",
    "demo_accounts",
    "hash_password",
    "issue_token",
    "list_api_tokens",
    "list_users",
    "password_problem",
    "principal_for",
    "principal_from_token",
    "revoke_api_token",
    "sees_personal_data",
    "set_disabled",
    "set_password",
    "signing_secret",
    "verify_password",
]
