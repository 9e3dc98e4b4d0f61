"""simple-history's manager class is built once (consulate.kernel.history.HistoryManager), and
still answers for the one instance it is read from."""

from __future__ import annotations

from consulate.kernel.actors import SYSTEM
from missions.models import Mission
from missions.services import mission_update


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
