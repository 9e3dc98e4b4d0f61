"""Granting and revoking staff roles: history with the acting user, and an outbox event."""

import pytest
from django_tenants.utils import schema_context

from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from missions.models import Membership
from missions.services import membership_grant, membership_revoke
from sync.models import OutboxEvent
from tests.factories import UserFactory


def test_granting_a_role_records_who_did_it_and_an_event(mission_a):
    # given an HQ admin and a new colleague
    admin, colleague = UserFactory(hq_role="admin"), UserFactory()
    # when the admin grants the colleague the cashier role
    membership = membership_grant(
        user=colleague, mission=mission_a, role="cashier", acting_user=admin
    )
    # then history says who granted it, and the mission's outbox has the event without e-mails
    assert membership.history.get().history_user_id == admin.pk
    with schema_context(mission_a.schema_name):
        event = OutboxEvent.objects.filter(topic="missions.membership.granted").latest("seq")
    assert event.payload == {"user_id": colleague.pk, "role": "cashier"}
    assert event.actor_id == admin.pk
    assert colleague.email not in str(event.payload)


def test_granting_twice_is_idempotent_and_revoking_keeps_the_row(mission_a):
    admin, colleague = UserFactory(hq_role="admin"), UserFactory()
    first = membership_grant(user=colleague, mission=mission_a, role="officer", acting_user=admin)
    with schema_context(mission_a.schema_name):
        events_before = OutboxEvent.objects.count()
    again = membership_grant(user=colleague, mission=mission_a, role="officer", acting_user=admin)
    # a grant that changes nothing writes no history and no event
    assert first.pk == again.pk
    assert first.history.count() == 1
    with schema_context(mission_a.schema_name):
        assert OutboxEvent.objects.count() == events_before
    # when the role is revoked
    membership_revoke(membership=first, acting_user=admin)
    # then the row stays (never deleted), inactive, with a history row by the admin
    first.refresh_from_db()
    assert not first.is_active
    assert first.history.latest().history_user_id == admin.pk
    # and granting again re-activates it
    membership_grant(user=colleague, mission=mission_a, role="officer", acting_user=admin)
    assert Membership.objects.get(pk=first.pk).is_active


def test_an_unknown_role_is_refused(mission_a):
    with pytest.raises(ApplicationError):
        membership_grant(
            user=UserFactory(), mission=mission_a, role="ambassador", acting_user=SYSTEM
        )
    assert not Membership.objects.filter(role="ambassador").exists()
