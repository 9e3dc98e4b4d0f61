"""The booking's two reads (appointments/selectors.py) read rows as `Model.objects.raw` does."""

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from appointments import selectors
from appointments.models import Service, Slot
from missions.selectors import current_mission
from tests.appointments.conftest import first_free_slot


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
