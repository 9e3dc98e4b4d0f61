"""A booking of a slot the database has found full is refused before the session's user, DRF
and the database are read (appointments/full_slots.py, appointments/middleware.py): with the
very answer the view gives, in the reader's language, counted against the same rate limits;
kept only after the database said "full" and committed, forgotten when a place comes back; and
anything the view would judge otherwise still goes through the whole stack."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from appointments import services
from appointments.full_slots import full_slot_kept
from appointments.models import Slot
from appointments.services.places import slot_place_give_back
from consulate.kernel.accounts.models import User
from tests.appointments.conftest import build_catalogue, first_free_slot, person
from tests.conftest import MODEL_BACKEND
from tests.factories import UserFactory

BOOKINGS = "/api/v1/appointments/bookings/"


@pytest.fixture
def kept(settings):  # type: ignore[no-untyped-def]
    settings.APPOINTMENTS_FULL_SLOT_SECONDS = 60
    return settings


def _body(slot_id: int, number: str = "U7654321", service: str = "passport") -> dict:  # type: ignore[type-arg]
    return {
        "service": service,
        "slot": slot_id,
        "persons": [{"full_name": "Ada Example", "date_of_birth": "1990-05-17",
                     "document_number": number}],
    }  # fmt: skip


def _post(client: Client, slot_id: int, **extra):  # type: ignore[no-untyped-def]
    body = extra.pop("body", None) or _body(slot_id)
    return client.post(BOOKINGS, body, content_type="application/json", **extra)


def _fill(slot: Slot, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    """Book every place of `slot` through the service, each booking committed (its callbacks
    run)."""
    for n in range(slot.capacity):
        user = UserFactory()
        with django_capture_on_commit_callbacks(execute=True):
            services.booking_create(
                slot_id=slot.pk, service=slot.service, persons=[person(f"F{slot.pk}X{n:03d}")],
                user=user, language="en", acting_user=user,
            )  # fmt: skip


def _read(queries: CaptureQueriesContext) -> str:
    return " ".join(query["sql"] for query in queries.captured_queries)


def test_the_booking_that_takes_the_last_place_keeps_the_slot_full_on_commit_only(
    catalogue, kept, django_capture_on_commit_callbacks
):
    slot = first_free_slot(catalogue)
    # given a booking of the first of two places: nothing is kept
    _fill_one = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_create(
            slot_id=slot.pk, service=catalogue, persons=[person("A1234567")], user=_fill_one,
            language="en", acting_user=_fill_one,
        )  # fmt: skip
    assert full_slot_kept(slot_id=slot.pk) is None
    # when the last place is taken but the transaction rolls back, nothing is kept either
    other = UserFactory()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.booking_create(
            slot_id=slot.pk, service=catalogue, persons=[person("B1234567")], user=other,
            language="en", acting_user=other,
        )  # fmt: skip
        transaction.set_rollback(True)
    assert full_slot_kept(slot_id=slot.pk) is None
    # and when it commits, the slot is kept full with its service
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_create(
            slot_id=slot.pk, service=catalogue, persons=[person("B1234567")], user=other,
            language="en", acting_user=other,
        )  # fmt: skip
    assert full_slot_kept(slot_id=slot.pk) == ("passport", None)


@pytest.mark.parametrize("language", ["en", "tr"])
def test_a_kept_full_slot_gets_the_views_answer_without_the_user_or_the_database(
    catalogue, client_a, citizen, kept, settings, language, django_capture_on_commit_callbacks
):
    slot = first_free_slot(catalogue)
    _fill(slot, django_capture_on_commit_callbacks)
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    # given the answer through the whole stack, with the early refusal off
    settings.APPOINTMENTS_FULL_SLOT_SECONDS = 0
    through = _post(client_a, slot.pk, HTTP_ACCEPT_LANGUAGE=language)
    settings.APPOINTMENTS_FULL_SLOT_SECONDS = 60
    # when the same booking is sent with the slot kept full
    with CaptureQueriesContext(connection) as queries:
        early = _post(client_a, slot.pk, HTTP_ACCEPT_LANGUAGE=language)
    # then the answer is the view's, byte for byte, with its status, type, language and Vary
    assert early.status_code == through.status_code == 400
    assert early.content == through.content
    body = json.loads(early.content)
    assert body["code"] == "appointments.slot_full"
    assert (
        body["message"]
        == {
            "en": "This time has just been taken. Please choose another.",
            "tr": "Bu saat az önce alındı. Lütfen başka bir saat seçin.",
        }[language]
    )
    for header in ("Content-Type", "Content-Language", "Vary", "Allow"):
        assert early[header] == through[header], header
    # and neither the session's user, nor the slot, nor any of the mission's tables was read
    sql = _read(queries)
    assert "accounts_user" not in sql
    assert "appointments_" not in sql
    assert "django_session" not in sql


def test_a_refusal_through_the_stack_keeps_the_slot_and_says_the_next_release(
    in_mission_a, client_a, citizen, kept
):
    # given a service released in batches: its next release is tomorrow at 09:00, Berlin time
    service = build_catalogue(code="rush", name="Rush", release_mode="scheduled")
    later = Slot.objects.filter(service=service).order_by("-starts_at").first()
    assert later is not None
    release = timezone.now() + dt.timedelta(days=1)
    Slot.objects.filter(service=service).update(bookable_from=None)  # released, all but one
    Slot.objects.filter(pk=later.pk).update(bookable_from=release)
    slot = Slot.objects.filter(service=service, bookable_from=None).order_by("starts_at")[5]
    # and a slot filled by a statement of its own (so not kept)
    Slot.objects.filter(pk=slot.pk).update(booked=slot.capacity)
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    body = _body(slot.pk, service="rush")
    # when a first booking is refused through the whole stack, and a second comes
    with CaptureQueriesContext(connection) as first_queries:
        first = _post(client_a, slot.pk, body=body)
    with CaptureQueriesContext(connection) as second_queries:
        second = _post(client_a, slot.pk, body=body)
    # then the first read the slot and kept it; the second was refused early, the same way
    assert "appointments_slot" in _read(first_queries)
    assert "appointments_" not in _read(second_queries)
    assert first.content == second.content
    answer = json.loads(second.content)
    assert answer["code"] == "appointments.slot_full"
    said = dt.datetime.fromisoformat(answer["next_release"])
    assert abs(said - release) < dt.timedelta(seconds=1)
    assert answer["next_release"].endswith(("+01:00", "+02:00"))  # Berlin's time
    assert "More times are released on" in answer["message"]


def test_the_early_refusal_counts_against_the_same_rate_limit(
    catalogue, client_a, citizen, kept, settings, django_capture_on_commit_callbacks
):
    # given a budget of two bookings a minute and a kept full slot
    settings.APPOINTMENTS_RATE_LIMITS = {"book": (2, 60)}
    slot = first_free_slot(catalogue)
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    # when one request goes through the stack (an empty body) and the next are refused early
    statuses = [client_a.post(BOOKINGS, {}, content_type="application/json").status_code]
    _fill(slot, django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as queries:
        statuses += [_post(client_a, slot.pk).status_code for _ in range(2)]
    # then the third of the account's requests is refused as over budget, early too
    assert statuses == [400, 400, 429]
    assert "appointments_" not in _read(queries)
    over = json.loads(_post(client_a, slot.pk).content)
    assert over["code"] == "rate_limited"
    # and the address's budget is spent too: another account there is refused as well
    client_a.force_login(UserFactory(), backend=MODEL_BACKEND)
    assert json.loads(_post(client_a, slot.pk).content)["code"] == "rate_limited"
    # while another account from another address is answered "full"
    other = _post(client_a, slot.pk, REMOTE_ADDR="203.0.113.9")
    assert json.loads(other.content)["code"] == "appointments.slot_full"


def test_what_the_view_would_judge_otherwise_goes_through_the_stack(
    catalogue, client_a, citizen, kept, django_capture_on_commit_callbacks
):
    slot = first_free_slot(catalogue)
    _fill(slot, django_capture_on_commit_callbacks)
    assert full_slot_kept(slot_id=slot.pk) is not None
    # a reader not signed in is asked to sign in, as before
    assert _post(Client(HTTP_HOST=client_a.defaults["HTTP_HOST"]), slot.pk).status_code == 403
    # a signed-in browser without its CSRF token is refused by CSRF, as before
    guarded = Client(HTTP_HOST=client_a.defaults["HTTP_HOST"], enforce_csrf_checks=True)
    guarded.force_login(citizen, backend=MODEL_BACKEND)
    refused = _post(guarded, slot.pk)
    assert refused.status_code == 403
    assert "CSRF" in json.loads(refused.content)["message"]
    # and with its token it is refused early as full
    token = guarded.get("/appointments/").cookies["csrftoken"].value
    assert json.loads(_post(guarded, slot.pk, HTTP_X_CSRFTOKEN=token).content)["code"] == (
        "appointments.slot_full"
    )
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    # another service's code with the slot: the view says the time does not exist
    other = _post(client_a, slot.pk, body=_body(slot.pk, service="visa"))
    assert other.status_code == 404
    # bodies not in the plain form are read by the view, which refuses them as it always did
    for body in (
        {**_body(slot.pk), "slot": str(slot.pk)},
        {**_body(slot.pk), "slot": True},
        [_body(slot.pk)],
    ):
        with CaptureQueriesContext(connection) as queries:
            answer = _post(client_a, slot.pk, body=body)
        assert answer.status_code in (400, 404), body
        assert "accounts_user" in _read(queries), body
    # a body with a NUL byte or nested too deep is refused, never a 500
    nul = '{"service": "passport\\u0000", "slot": ' + str(slot.pk) + "}"
    for raw in (nul, "[" * 5000 + "]" * 5000):
        answer = client_a.post(BOOKINGS, raw, content_type="application/json")
        assert answer.status_code == 400, raw[:40]


def test_a_place_given_back_is_forgotten_on_commit_and_booked_again(
    catalogue, client_a, citizen, kept, django_capture_on_commit_callbacks
):
    slot = first_free_slot(catalogue)
    _fill(slot, django_capture_on_commit_callbacks)
    # when a place is given back in a transaction that rolls back, the slot stays kept
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        slot_place_give_back(pk=slot.pk)
        transaction.set_rollback(True)
    assert full_slot_kept(slot_id=slot.pk) is not None
    # and when a booking is cancelled (committed), it is forgotten and bookable at once
    booking = slot.bookings.first()
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking=booking, acting_user=User.objects.get(pk=booking.user_id))
    assert full_slot_kept(slot_id=slot.pk) is None
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    assert _post(client_a, slot.pk).status_code == 201


def test_a_slot_kept_at_one_mission_is_not_refused_at_another(
    catalogue, client_b, mission_b, citizen, kept, django_capture_on_commit_callbacks
):
    slot = first_free_slot(catalogue)
    _fill(slot, django_capture_on_commit_callbacks)
    # given mission B's own catalogue (its slots are numbered in its own schema)
    with schema_context(mission_b.schema_name):
        build_catalogue()
        assert full_slot_kept(slot_id=slot.pk) is None
    # when B's reader books that number at B, B's view answers: booked, or no such time
    client_b.force_login(citizen, backend=MODEL_BACKEND)
    with CaptureQueriesContext(connection) as queries:
        answer = _post(client_b, slot.pk)
    assert "appointments_slot" in _read(queries)
    assert answer.status_code in (201, 404), answer.content


def test_a_release_that_has_come_is_read_again_by_the_view(
    catalogue, mission_a, client_a, citizen, kept, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from appointments.full_slots import _key

    slot = first_free_slot(catalogue)
    _fill(slot, django_capture_on_commit_callbacks)
    # given a kept next release that has just passed
    cache.set(_key(mission_a.schema_name, slot.pk), ("passport", timezone.now()), 60)
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    # then the view answers, reading the slot and the service's next release itself
    with CaptureQueriesContext(connection) as queries:
        answer = _post(client_a, slot.pk)
    assert "appointments_slot" in _read(queries)
    assert json.loads(answer.content)["next_release"] is None
