"""The booking's two reads (appointments/selectors.py) read rows as `Model.objects.raw` does."""

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone
from django_tenants.utils import schema_context

from appointments import selectors
from appointments.models import Service, Slot
from consulate.kernel import cache as kernel_cache
from missions.selectors import current_mission
from tests.appointments.conftest import first_free_slot
from tests.appointments.factories import build_catalogue


def _columns(row):  # type: ignore[no-untyped-def]
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}


def test_the_offered_service_is_what_raw_reads(catalogue):
    # when the booking reads its service
    ours = selectors.service_get_offered(code="passport")
    # then it is the row raw() reads, every column (the names in each language) included
    (theirs,) = Service.objects.raw(selectors._SERVICE_OFFERED_SQL, ["passport"])
    assert _columns(ours) == _columns(theirs)
    assert ours.pk == catalogue.pk
    assert (ours._state.adding, ours._state.db) == (False, "default")
    # and a service that is not offered does not exist
    Service.objects.filter(pk=catalogue.pk).update(is_active=False)
    with pytest.raises(Http404):
        selectors.service_get_offered(code="passport")


def test_the_slot_for_booking_is_what_raw_reads(catalogue, citizen):
    slot = first_free_slot(catalogue)
    now = timezone.now()
    params = dict(service=catalogue, slot_id=slot.pk, mission=current_mission(), now=now)
    # when the booking reads its slot, with what it must check
    ours = selectors.slot_get_for_booking(user_id=citizen.pk, **params)
    # then it is the row raw() reads, with the same checks as attributes
    rules = selectors._RULE_DEFAULTS
    (theirs,) = Slot.objects.raw(
        selectors._SLOT_FOR_BOOKING_SQL,
        {
            "zone": current_mission().timezone, "limit": rules["no_show_limit"],
            "block": rules["no_show_block_days"], "window": rules["no_show_window_days"],
            "user": citizen.pk, "no_show": "no_show", "now": now, "slot": slot.pk,
            "service": catalogue.pk,
        },
    )  # fmt: skip
    assert _columns(ours) == _columns(theirs)
    for name in ("day_closed", "no_show_limit", "no_show_block_days", "recent_no_shows"):
        assert getattr(ours, name) == getattr(theirs, name)
    assert ours.service is catalogue
    assert isinstance(ours.starts_at, dt.datetime)
    assert ours.starts_at.tzinfo is not None
    # and a slot of another service is none
    assert selectors.slot_get_for_booking(user_id=None, **{**params, "slot_id": -1}) is None


@pytest.fixture
def kept_here(settings):  # type: ignore[no-untyped-def]
    settings.APPOINTMENTS_SERVICE_LOCAL_SECONDS = 2


def test_the_service_is_kept_in_the_process_each_caller_with_its_own_copy(
    catalogue, kept_here, django_assert_num_queries
):
    # given the service read once
    first = selectors.service_get_offered(code="passport")
    # when it is read again within the time it is kept
    with django_assert_num_queries(0):
        again = selectors.service_get_offered(code="passport")
    # then it is the same row, in an instance of its own: what one caller sets, the next
    # does not see
    assert _columns(again) == _columns(first)
    first.max_persons = 99
    assert selectors.service_get_offered(code="passport").max_persons != 99


def test_a_save_here_shows_at_once_and_a_change_elsewhere_when_the_copy_expires(
    catalogue, kept_here, monkeypatch
):
    selectors.service_get_offered(code="passport")
    # when the service is withdrawn through this process (a save): refused at once
    catalogue.is_active = False
    catalogue.save()
    with pytest.raises(Http404):
        selectors.service_get_offered(code="passport")
    # when another process brings it back (its save is not seen here), the copy of "not
    # offered" is not kept: it shows at once; a change of its rules shows when the copy expires
    Service.objects.filter(pk=catalogue.pk).update(is_active=True)
    assert selectors.service_get_offered(code="passport").max_persons == catalogue.max_persons
    Service.objects.filter(pk=catalogue.pk).update(max_persons=catalogue.max_persons + 1)
    assert selectors.service_get_offered(code="passport").max_persons == catalogue.max_persons
    later = kernel_cache._clock() + 2.1
    monkeypatch.setattr(kernel_cache, "_clock", lambda: later)
    assert selectors.service_get_offered(code="passport").max_persons == catalogue.max_persons + 1


def test_a_mission_never_gets_another_missions_copy(mission_b, catalogue, kept_here):
    # given mission A's passport service, kept in this process
    ours = selectors.service_get_offered(code="passport")
    # when mission B, which offers no such service, reads the same code
    with schema_context(mission_b.schema_name):
        # then it does not exist there
        with pytest.raises(Http404):
            selectors.service_get_offered(code="passport")
        # and B's own passport service is B's row, not A's copy
        theirs = build_catalogue(name="B's passport")
        assert selectors.service_get_offered(code="passport").pk == theirs.pk
    assert selectors.service_get_offered(code="passport").pk == ours.pk


def test_a_copy_read_while_a_change_is_being_committed_goes_at_its_commit(
    catalogue, kept_here, django_capture_on_commit_callbacks
):
    # given a change of the service saved but not yet committed, and a copy of the old row
    # that another thread kept meanwhile
    with django_capture_on_commit_callbacks(execute=True):
        catalogue.max_persons += 1
        catalogue.save()
        old = Service.objects.get(pk=catalogue.pk)
        old.max_persons -= 1
        selectors._services_here.put((selectors.current_schema(), "passport"), old, seconds=2)
        assert selectors.service_get_offered(code="passport").max_persons == old.max_persons
    # when the change commits, then the old copy is gone
    assert selectors.service_get_offered(code="passport").max_persons == catalogue.max_persons
