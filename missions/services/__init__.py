"""Every write to missions, staff memberships and accounts (as HQ manages them)."""

from .account import ACCOUNT_FIELDS, account_create, account_password_set, account_update
from .handoff import (
    HANDOFF_SECONDS,
    handoff_create,
    handoff_prune,
    handoff_redeem,
    second_factor_passed,
)
from .membership import membership_grant, membership_revoke
from .mission import UPDATABLE_FIELDS, mission_create, mission_data_key_rotate, mission_update

__all__ = [
    "ACCOUNT_FIELDS",
    "HANDOFF_SECONDS",
    "UPDATABLE_FIELDS",
    "account_create",
    "account_password_set",
    "account_update",
    "handoff_create",
    "handoff_prune",
    "handoff_redeem",
    "membership_grant",
    "membership_revoke",
    "mission_create",
    "mission_data_key_rotate",
    "mission_update",
    "second_factor_passed",
]
