"""Every write to missions, staff memberships and accounts (as HQ manages them)."""

from .account import ACCOUNT_FIELDS, account_create, account_password_set, account_update
from .membership import membership_grant, membership_revoke
from .mission import UPDATABLE_FIELDS, mission_create, mission_data_key_rotate, mission_update

__all__ = [
    "ACCOUNT_FIELDS",
    "UPDATABLE_FIELDS",
    "account_create",
    "account_password_set",
    "account_update",
    "membership_grant",
    "membership_revoke",
    "mission_create",
    "mission_data_key_rotate",
    "mission_update",
]
