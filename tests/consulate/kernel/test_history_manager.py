"""simple-history's manager class is built once (consulate.kernel.history.HistoryManager), and
still answers for the one instance it is read from; `history_latest_by` reads whose the latest
change is."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from consulate.kernel.accounts.models import HqRole
from consulate.kernel.actors import SYSTEM
from consulate.kernel.history import history_latest_by
from missions.models import Mission
from missions.services import mission_update
from tests.factories import UserFactory


def test_the_manager_class_is_built_once_and_bound_to_its_instance(mission_a, mission_b):
    # given two missions with changes on record
    mission_update(mission=mission_a, acting_user=SYSTEM, phone="+49 30 1111 2222")
    mission_update(mission=mission_b, acting_user=SYSTEM, phone="+33 1 2222 3333")
    # when their history is read through the instance, twice, and through the model
    a, b = Mission.objects.get(pk=mission_a.pk), Mission.objects.get(pk=mission_b.pk)
    # then one class serves every read
    assert type(a.history) is type(b.history) is type(Mission.history)
    # and each instance's history is its own, newest first
    assert a.history.first().phone == "+49 30 1111 2222"
    assert b.history.first().phone == "+33 1 2222 3333"
    assert {row.id for row in a.history.all()}.isdisjoint({row.id for row in b.history.all()})
    assert Mission.history.filter(id__in=[a.pk, b.pk]).count() == (
        a.history.count() + b.history.count()
    )
    assert a.history.as_of(a.history.first().history_date).phone == "+49 30 1111 2222"


def test_the_latest_change_is_found_as_its_authors_own_until_another_follows(mission_a):
    # given a mission's phone changed by one HQ admin
    first, second = UserFactory(hq_role=HqRole.ADMIN), UserFactory(hq_role=HqRole.ADMIN)
    mission_update(mission=mission_a, acting_user=first, phone="+49 30 1111 2222")
    mission = Mission.objects.get(pk=mission_a.pk)
    # then the latest change is theirs, with what it made of the row; not another person's,
    # nor another value, nor nobody's
    assert history_latest_by(mission, acting_user=first, phone="+49 30 1111 2222")
    assert history_latest_by(mission, acting_user=first)
    assert not history_latest_by(mission, acting_user=second, phone="+49 30 1111 2222")
    assert not history_latest_by(mission, acting_user=first, phone="+49 30 9999 0000")
    assert not history_latest_by(mission, acting_user=AnonymousUser())
    # when another person changes it since, even back to the same value
    mission_update(mission=mission_a, acting_user=second, phone="+49 30 3333 4444")
    mission_update(mission=mission_a, acting_user=second, phone="+49 30 1111 2222")
    # then it is no longer the first one's
    assert not history_latest_by(mission, acting_user=first, phone="+49 30 1111 2222")
    assert history_latest_by(mission, acting_user=second, phone="+49 30 1111 2222")
