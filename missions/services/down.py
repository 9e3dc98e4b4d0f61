"""The down set `missions.accounts`: what a mission node keeps a copy of from HQ (docs/sync.md).

HQ writes missions and staff (HQ admins open missions and grant roles); a mission on its own
node needs a copy to let its staff log in while its link to HQ is down. HQ builds the set for a
mission (`accounts_build`), sync carries it in the answer to a push when it changed, and the
node applies it to its public schema (`accounts_apply`): the mission's profile and status, and
every account that holds or held a role there, or an HQ role, with its e-mail addresses and
roles, and (all but HQ-role accounts, who log in at HQ) its password hash and second
factors. A role revoked at HQ is revoked at the node; an account never leaves (history and
events refer to it).

Registered with sync in `missions.apps.MissionsConfig.ready`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import translation
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from consulate.kernel.history import set_acting_user

from ..models import Membership, Mission

logger = logging.getLogger(__name__)

NAME = "missions.accounts"

# the profile a node copies; its code, schema and node address are its own
# (the per-language columns; `name`, `address` and `city` are written from English when saved)
MISSION_FIELDS = (
    "name_en", "name_tr", "kind", "host_country", "city_en", "city_tr", "timezone", "currency",
    "languages", "address_en", "address_tr", "phone", "email", "website",
    "jurisdiction", "office_hours", "status",
)  # fmt: skip
USER_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "password",
    "is_active",
    "hq_role",
    "preferred_language",
)


# an HQ-role account's password at a node: unusable (Django's "!" prefix); it logs in at HQ
NOT_AT_NODE_PASSWORD = "!"  # noqa: S105 (not a password: the mark of none)


def accounts_build(code: str) -> dict[str, Any]:
    """At HQ: the set for the mission `code` (JSON-ready, in a stable order). An account with
    an HQ role goes without its password hash and second factors (an unusable password, no
    factor): it logs in at HQ, and a node's copy (or a set that leaked) holds no secret of
    the accounts that can see every mission."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        mission = Mission.objects.get(code=code)
        users = list(
            User.objects.filter(Q(memberships__mission=mission) | ~Q(hq_role=""))
            .distinct()
            .order_by("pk")
        )
        ids = [user.pk for user in users]
        roles: dict[int, list[list[Any]]] = {}
        for user_id, role, is_active in Membership.objects.filter(
            mission=mission, user_id__in=ids
        ).values_list("user_id", "role", "is_active"):
            roles.setdefault(user_id, []).append([role, is_active])
        addresses: dict[int, list[list[Any]]] = {}
        for user_id, email, verified, primary in EmailAddress.objects.filter(
            user_id__in=ids
        ).values_list("user_id", "email", "verified", "primary"):
            addresses.setdefault(user_id, []).append([email, verified, primary])
        factors: dict[int, list[list[Any]]] = {}
        for user_id, kind, data in Authenticator.objects.filter(user_id__in=ids).values_list(
            "user_id", "type", "data"
        ):
            factors.setdefault(user_id, []).append([kind, data])
        return {
            "mission": {field: getattr(mission, field) for field in MISSION_FIELDS},
            "accounts": [
                {
                    "id": user.pk,
                    **{field: getattr(user, field) for field in USER_FIELDS},
                    **({"password": NOT_AT_NODE_PASSWORD} if user.hq_role else {}),
                    "roles": sorted(roles.get(user.pk, [])),
                    "addresses": sorted(addresses.get(user.pk, [])),
                    "factors": []
                    if user.hq_role
                    else sorted(factors.get(user.pk, []), key=lambda f: f[0]),
                }
                for user in users
            ],
        }


def accounts_apply(code: str, content: dict[str, Any]) -> None:
    """At a node: make its copy of the set what HQ sent (one transaction). The platform does
    it (SYSTEM in the history), on HQ's word: the set arrived signed by HQ's key.

    Each account is applied in a savepoint: one the node cannot take (its e-mail address
    belongs to an account made at the node) is skipped with a warning, its roles HQ no longer
    lists still revoked, and the rest of the set is applied, so a conflict never holds back
    later sets (and their revocations)."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        mission = Mission.objects.select_for_update().get(code=code)
        profile = {field: content["mission"][field] for field in MISSION_FIELDS}
        if any(getattr(mission, field) != value for field, value in profile.items()):
            for field, value in profile.items():
                setattr(mission, field, value)
            set_acting_user(mission, SYSTEM)
            with translation.override(settings.MODELTRANSLATION_DEFAULT_LANGUAGE):
                mission.save(
                    update_fields=[*MISSION_FIELDS, "name", "address", "city", "updated_at"]
                )
        sent_ids = set()
        for account in content["accounts"]:
            sent_ids.add(account["id"])
            try:
                with transaction.atomic():
                    _account_apply(mission, account)
            except IntegrityError as error:
                logger.warning(
                    "%s: account %s from HQ not applied (%s); its revoked roles are",
                    code, account["id"], str(error).splitlines()[0],
                )  # fmt: skip
                _roles_revoke(mission, account)
        # a person HQ no longer lists holds no role here any more
        for membership in Membership.objects.filter(mission=mission, is_active=True).exclude(
            user_id__in=sent_ids
        ):
            _deactivate(membership)


def _account_apply(mission: Mission, account: dict[str, Any]) -> None:
    user = User.objects.filter(pk=account["id"]).first()
    values = {field: account[field] for field in USER_FIELDS}
    if user is None:
        user = User(pk=account["id"], **values)
        set_acting_user(user, SYSTEM)
        user.save(force_insert=True)
    elif any(getattr(user, field) != value for field, value in values.items()):
        for field, value in values.items():
            setattr(user, field, value)
        set_acting_user(user, SYSTEM)
        user.save()
    held = {m.role: m for m in Membership.objects.filter(user=user, mission=mission)}
    for role, is_active in account["roles"]:
        membership = held.pop(role, None)
        if membership is None:
            membership = Membership(user=user, mission=mission, role=role, is_active=is_active)
            set_acting_user(membership, SYSTEM)
            membership.save()
        elif membership.is_active != is_active:
            membership.is_active = is_active
            set_acting_user(membership, SYSTEM)
            membership.save(update_fields=["is_active", "updated_at"])
    for membership in held.values():  # roles HQ does not list: revoked
        _deactivate(membership)
    EmailAddress.objects.filter(user=user).delete()
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=user, email=email, verified=verified, primary=primary)
         for email, verified, primary in account["addresses"]]
    )  # fmt: skip
    existing = {(kind, _stable(data)) for kind, data in
                Authenticator.objects.filter(user=user).values_list("type", "data")}  # fmt: skip
    wanted = {(kind, _stable(data)) for kind, data in account["factors"]}
    if existing != wanted:
        Authenticator.objects.filter(user=user).delete()
        Authenticator.objects.bulk_create(
            [Authenticator(user=user, type=kind, data=data) for kind, data in account["factors"]]
        )


def _roles_revoke(mission: Mission, account: dict[str, Any]) -> None:
    """The roles HQ does not list as active for an account the node could not take whole."""
    active = {role for role, is_active in account["roles"] if is_active}
    for membership in Membership.objects.filter(
        mission=mission, user_id=account["id"], is_active=True
    ).exclude(role__in=active):
        _deactivate(membership)


def _deactivate(membership: Membership) -> None:
    if membership.is_active:
        membership.is_active = False
        set_acting_user(membership, SYSTEM)
        membership.save(update_fields=["is_active", "updated_at"])


def _stable(data: Any) -> str:
    return json.dumps(data, sort_keys=True)
