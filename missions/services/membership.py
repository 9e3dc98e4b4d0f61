"""Granting and revoking staff roles at a mission (HQ admins, or SYSTEM)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SystemActor
from consulate.kernel.errors import ApplicationError
from consulate.kernel.history import set_acting_user
from sync.services import outbox_event_record

from ..error_codes import MissionError
from ..events import MissionTopic
from ..locks import membership_lock
from ..models import Membership, Mission, Role
from ..permissions import Action, permission_require


def membership_grant(
    *, user: User, mission: Mission, role: str, acting_user: User | SystemActor
) -> Membership:
    """Give `user` a role at `mission` (or re-activate it). Idempotent."""
    permission_require(user=acting_user, mission=mission, action=Action.MISSION_MANAGE)
    if role not in Role.values:
        raise ApplicationError(MissionError.INVALID, _("Unknown role."), field="role")
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update()
            .filter(user=user, mission=mission, role=role)
            .first()
        )  # (user, mission, role) is unique: at most one row
        if membership is None:
            membership = Membership(user=user, mission=mission, role=role, is_active=True)
            set_acting_user(membership, acting_user)
            membership.save()
        elif membership.is_active:
            return membership  # nothing changed: no history row, no event
        else:
            membership.is_active = True
            set_acting_user(membership, acting_user)
            membership.save(update_fields=["is_active", "updated_at"])
        with schema_context(mission.schema_name):
            outbox_event_record(
                topic=MissionTopic.MEMBERSHIP_GRANTED,
                aggregate_id=membership.pk,
                payload={"user_id": user.pk, "role": role},
                acting_user=acting_user,
            )
    return membership


def membership_revoke(*, membership: Membership, acting_user: User | SystemActor) -> Membership:
    """End a role: the row stays, inactive, as the record of who held it. Idempotent."""
    permission_require(user=acting_user, mission=membership.mission, action=Action.MISSION_MANAGE)
    with transaction.atomic():
        # Read again under the lock: the caller's copy may be stale (or, in the admin, already
        # edited in memory).
        membership = membership_lock(pk=membership.pk)
        if not membership.is_active:
            return membership  # nothing changed: no history row, no event
        membership.is_active = False
        set_acting_user(membership, acting_user)
        membership.save(update_fields=["is_active", "updated_at"])
        with schema_context(membership.mission.schema_name):
            outbox_event_record(
                topic=MissionTopic.MEMBERSHIP_REVOKED,
                aggregate_id=membership.pk,
                payload={"user_id": membership.user_id, "role": membership.role},
                acting_user=acting_user,
            )
    return membership
