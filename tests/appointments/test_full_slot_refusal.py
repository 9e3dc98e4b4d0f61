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
from appointments.models import ConfirmationDue, Slot
from appointments.services.places import slot_place_give_back
from consulate.kernel.accounts.models import User
from tests.appointments.conftest import build_catalogue, first_free_slot, person
from tests.conftest import MODEL_BACKEND
from tests.factories import UserFactory

BOOKINGS = "/api/v1/appointments/bookings/"


@pytest.fixture
def kept(settings):  # type: ignore[no-untyped-def]
    from appointments import full_slots

    settings.APPOINTMENTS_FULL_SLOT_SECONDS = 60
    full_slots._full_seen_here.clear()
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
    for header in ("Content-Type", "Content-Language", "Vary", "Allow", "Content-Length"):
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
    # (two days ahead: one of today's could be past its notice, whatever the hour the test runs)
    after = timezone.now() + dt.timedelta(days=2)
    slot = Slot.objects.filter(service=service, bookable_from=None, starts_at__gt=after).order_by(
        "starts_at"
    )[0]
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


def test_the_early_refusal_counts_against_the_addresss_budget_with_the_view(
    catalogue, client_a, citizen, kept, settings, django_capture_on_commit_callbacks
):
    # given a budget of two bookings a minute and a kept full slot
    settings.APPOINTMENTS_RATE_LIMITS = {"book": (2, 60)}
    slot = first_free_slot(catalogue)
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    # when one request from an address goes through the stack (an empty body) and the next
    # two from it are refused early, by two different accounts
    address = {"REMOTE_ADDR": "203.0.113.7"}
    statuses = [client_a.post(BOOKINGS, {}, content_type="application/json", **address)]
    _fill(slot, django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as queries:
        statuses.append(_post(client_a, slot.pk, **address))
        client_a.force_login(UserFactory(), backend=MODEL_BACKEND)
        statuses.append(_post(client_a, slot.pk, **address))
    # then the address's third request is refused as over budget, early too
    assert [answer.status_code for answer in statuses] == [400, 400, 429]
    assert json.loads(statuses[2].content)["code"] == "rate_limited"
    assert "appointments_" not in _read(queries)


def test_early_refusals_spend_the_sessions_budget_never_the_accounts(
    catalogue, client_a, citizen, kept, settings, django_capture_on_commit_callbacks
):
    # given loopback exempt from the address's budget (as the benchmark's clients are), a
    # budget of two, and a kept full slot
    settings.APPOINTMENTS_RATE_LIMITS = {"book": (2, 60)}
    settings.APPOINTMENTS_RATE_LIMIT_EXEMPT_ADDRESSES = ["127.0.0.1"]
    full, free = first_free_slot(catalogue), first_free_slot(catalogue, skip=1)
    _fill(full, django_capture_on_commit_callbacks)
    stolen = Client(HTTP_HOST=client_a.defaults["HTTP_HOST"])
    stolen.force_login(citizen, backend=MODEL_BACKEND)
    # when one session hammers the full slot: refused early, then over its own budget
    codes = [json.loads(_post(stolen, full.pk).content)["code"] for _ in range(3)]
    assert codes == ["appointments.slot_full", "appointments.slot_full", "rate_limited"]
    # and the person changes their password, which signs that session out; it goes on
    citizen.set_password("a new password 2026")
    citizen.save()
    for _ in range(3):
        assert _post(stolen, full.pk).status_code == 429
    # then the person, signed in again, still books: their account's budget is whole
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    assert _post(client_a, free.pk).status_code == 201
    # and the view still holds the account to its budget (the booking was its first)
    assert _post(client_a, free.pk, body=_body(free.pk, "U7654322")).status_code == 201
    assert _post(client_a, free.pk, body=_body(free.pk, "U7654323")).status_code == 429


def test_what_the_view_would_judge_otherwise_goes_through_the_stack(
    catalogue, client_a, citizen, kept, settings, django_capture_on_commit_callbacks
):
    settings.APPOINTMENTS_RATE_LIMITS = {"book": (1000, 60)}  # many requests from one reader
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
    # bodies the view's parser refuses are refused by it, not told "full": UTF-16, JSON
    # nested deeper than the parser allows (within the early path's size), no person, an id
    # beyond the column's range
    utf16 = json.dumps(_body(slot.pk)).encode("utf-16")
    nested: object = [0]
    for _ in range(40):
        nested = [nested]
    deep = json.dumps({**_body(slot.pk), "persons": nested})
    for raw in (utf16, deep, json.dumps({**_body(slot.pk), "persons": []})):
        answer = client_a.post(BOOKINGS, raw, content_type="application/json")
        assert answer.status_code == 400, raw[:40]
        assert json.loads(answer.content)["code"] != "appointments.slot_full", raw[:40]
    huge = client_a.post(BOOKINGS, _body(10**30), content_type="application/json")
    assert huge.status_code in (400, 404)
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
    assert full_slot_kept(slot_id=slot.pk) is not None
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    # then the view answers, reading the slot and the service's next release itself
    with CaptureQueriesContext(connection) as queries:
        answer = _post(client_a, slot.pk)
    assert "appointments_slot" in _read(queries)
    assert json.loads(answer.content)["next_release"] is None


def test_a_full_read_before_a_place_came_back_is_not_kept_over_it(
    catalogue, client_a, citizen, kept, django_capture_on_commit_callbacks
):
    from appointments.services.places import slot_full_refused

    slot = first_free_slot(catalogue)
    _fill(slot, django_capture_on_commit_callbacks)
    # given a booking that read the slot full, just before a cancel gave a place back
    stale = Slot.objects.select_related("service").get(pk=slot.pk)
    booking = slot.bookings.first()
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking=booking, acting_user=User.objects.get(pk=booking.user_id))
    # when that booking's refusal would keep the slot full
    slot_full_refused(slot=stale)
    # then it is not kept over the place that came back, which is booked at once
    assert full_slot_kept(slot_id=slot.pk) is None
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    assert _post(client_a, slot.pk).status_code == 201


def test_a_failing_cache_never_fails_a_booking_or_its_e_mail(
    catalogue, kept, monkeypatch, django_capture_on_commit_callbacks
):
    from django.core import mail
    from django.core.cache import cache

    from appointments import tasks

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ConnectionError("the cache is down")

    monkeypatch.setattr(cache, "add", broken)
    monkeypatch.setattr(cache, "get", broken)
    slot = first_free_slot(catalogue)
    # when the last place is taken while the cache fails
    _fill(slot, django_capture_on_commit_callbacks)
    # then both bookings stand, each with its confirmation due, and nothing is kept
    assert slot.bookings.count() == slot.capacity
    assert ConfirmationDue.objects.filter(booking__slot=slot).count() == slot.capacity
    assert full_slot_kept(slot_id=slot.pk) is None
    # and the worker's sweep sends both
    tasks.send_due_confirmations()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(b.email for b in slot.bookings.all())
    assert full_slot_kept(slot_id=slot.pk) is None


def test_a_process_that_has_seen_no_full_slot_does_not_ask_the_cache(
    catalogue, mission_a, client_a, citizen, kept, monkeypatch, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from appointments import full_slots

    slot = first_free_slot(catalogue)
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    asked: list[str] = []
    real_get = cache.get

    def counted(key, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(key).startswith("appointments-full:"):
            asked.append(key)
        return real_get(key, *args, **kwargs)

    monkeypatch.setattr(cache, "get", counted)
    # when bookings come while this process has seen no full slot: nothing is asked
    assert _post(client_a, slot.pk).status_code == 201
    assert asked == []
    # once it has (the slot filled here), the next booking of the mission asks, and is refused
    full = first_free_slot(catalogue, skip=1)
    _fill(full, django_capture_on_commit_callbacks)
    answer = _post(client_a, full.pk, body=_body(full.pk, "U7654399"))
    assert json.loads(answer.content)["code"] == "appointments.slot_full"
    assert len(asked) == 1
    # and a window after, a process that saw nothing more stops asking
    full_slots._full_seen_here[mission_a.schema_name] -= 61
    _post(client_a, full.pk, body=_body(full.pk, "U7654398"))
    assert len(asked) == 1


@pytest.fixture
def on_redis(settings):  # type: ignore[no-untyped-def]
    """Production's cache: this project's Redis backend on loopback (sessions and kept slots
    in it), a key prefix of the test's own."""
    import uuid

    from django.core.cache import cache

    from consulate.kernel.cache import BACKEND
    from tests.consulate.test_cache import redis_on_loopback

    if not redis_on_loopback():
        pytest.skip("NO REDIS ON 127.0.0.1:6379: the early refusal's round trip was not exercised")
    prefix = f"test-early-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": BACKEND,
            "LOCATION": "redis://127.0.0.1:6379/14",
            "KEY_PREFIX": prefix,
        }
    }
    yield settings
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def _redis_commands(work):  # type: ignore[no-untyped-def]
    """The commands `work` sends to the default cache's Redis."""
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    sent: list[str] = []
    original = client.execute_command

    def counting(*args, **options):  # type: ignore[no-untyped-def]
        sent.append(str(args[0]))
        return original(*args, **options)

    client.execute_command = counting
    try:
        return work(), sent
    finally:
        del client.execute_command


def _session_count(client: Client) -> int | None:
    """What the early refusal has counted against the client's session's budget."""
    from django.core.cache import cache

    from appointments.ratelimit import rate_limit_budget_early

    budget = rate_limit_budget_early(
        address="127.0.0.1", session_key=client.cookies["sessionid"].value, action="book"
    )
    (key,) = budget.keys  # loopback is exempt from the address's budget (on_redis_early)
    return cache.get(key)


@pytest.fixture
def on_redis_early(
    catalogue, client_a, citizen, kept, on_redis, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    """A kept full slot, a signed-in session in Redis, the script loaded, a budget of two."""
    on_redis.APPOINTMENTS_RATE_LIMITS = {"book": (2, 60)}
    on_redis.APPOINTMENTS_RATE_LIMIT_EXEMPT_ADDRESSES = ["127.0.0.1"]
    slot = first_free_slot(catalogue)
    _fill(slot, django_capture_on_commit_callbacks)
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    from consulate.kernel.cache import counters_add

    counters_add(["warm"], timeout=60)  # the script loaded on this server
    return slot


def test_on_redis_an_early_refusal_is_one_round_trip_and_counts(client_a, on_redis_early):
    slot = on_redis_early
    _post(client_a, first_free_slot(slot.service, skip=1).pk, body={})  # the mission's copy
    # when the booking is sent: then it is refused as full with one command to Redis, and
    # neither the user, the session nor the mission's tables read
    with CaptureQueriesContext(connection) as queries:
        answer, sent = _redis_commands(lambda: _post(client_a, slot.pk))
    assert json.loads(answer.content)["code"] == "appointments.slot_full"
    assert sent == ["EVALSHA"]
    for table in ("accounts_user", "django_session", "appointments_"):
        assert table not in _read(queries)
    # and it counted against the session's budget, which the third request finds spent
    assert _session_count(client_a) == 1
    assert json.loads(_post(client_a, slot.pk).content)["code"] == "appointments.slot_full"
    assert json.loads(_post(client_a, slot.pk).content)["code"] == "rate_limited"
    assert _session_count(client_a) == 3


def test_on_redis_a_request_not_refused_early_gives_its_counts_back(client_a, on_redis_early):
    slot = on_redis_early
    # when the kept slot is named with another service: the view answers (the time does not
    # exist), and the early count was given back: the view counts the request itself
    for _ in range(2):  # the account's budget
        assert _post(client_a, slot.pk, body=_body(slot.pk, service="visa")).status_code == 404
    assert _session_count(client_a) == 0
    # so the session's budget is whole for the refusals that follow
    assert json.loads(_post(client_a, slot.pk).content)["code"] == "appointments.slot_full"


def test_on_redis_a_session_not_in_the_cache_is_read_and_counted(client_a, on_redis_early):
    from django.contrib.sessions.backends.cached_db import KEY_PREFIX
    from django.core.cache import cache

    slot = on_redis_early
    # given the session gone from the cache (evicted), still in the database
    cache.delete(KEY_PREFIX + client_a.cookies["sessionid"].value)
    # when the booking is sent: then it is still refused early, and counted
    with CaptureQueriesContext(connection) as queries:
        answer = _post(client_a, slot.pk)
    assert json.loads(answer.content)["code"] == "appointments.slot_full"
    assert "django_session" in _read(queries)
    assert "accounts_user" not in _read(queries)
    assert _session_count(client_a) == 1


def test_on_redis_a_slot_marked_freed_is_one_round_trip_and_counts_nothing(
    client_a, on_redis_early, mission_a
):
    from django.core.cache import cache

    from appointments.full_slots import FREED, _key

    slot = on_redis_early
    # given the slot marked freed (a place came back)
    cache.set(_key(mission_a.schema_name, slot.pk), FREED, 60)
    # when it is booked: one command to Redis before the stack, nothing counted nor given back
    answer, sent = _redis_commands(lambda: _post(client_a, slot.pk))
    assert sent[0] == "EVALSHA"
    assert sent.count("EVALSHA") == 2  # the early read, then the view's own count
    assert _session_count(client_a) is None
    # and the view judges (the slot is full in the database)
    assert json.loads(answer.content)["code"] == "appointments.slot_full"


def test_a_refusal_kept_lapses_at_its_release(
    catalogue, mission_a, kept, django_capture_on_commit_callbacks, monkeypatch
):
    from appointments import full_slots

    kept_for: list[int] = []
    monkeypatch.setattr(
        full_slots.cache, "add", lambda key, value, seconds: kept_for.append(seconds)
    )
    slot = first_free_slot(catalogue)
    # a release 10 s away: kept 10 s at most, not the window's 60
    full_slots.full_slot_keep(
        slot_id=slot.pk, service_code="passport",
        next_release=timezone.now() + dt.timedelta(seconds=10),
    )  # fmt: skip
    # a release already come: not kept; none: the window
    full_slots.full_slot_keep(
        slot_id=slot.pk, service_code="passport",
        next_release=timezone.now() - dt.timedelta(seconds=1),
    )  # fmt: skip
    full_slots.full_slot_keep(slot_id=slot.pk, service_code="passport", next_release=None)
    assert len(kept_for) == 2
    assert 8 <= kept_for[0] <= 10
    assert kept_for[1] == 60


def test_on_redis_the_session_read_early_is_not_read_again(
    catalogue, client_a, citizen, on_redis_early
):
    from django.contrib.sessions.backends.cached_db import KEY_PREFIX
    from django.core.cache import cache

    # given a booking of a free time while this process watches for full slots (it has seen
    # one): the early middleware reads the session with what is kept, in one round trip
    free = first_free_slot(catalogue, skip=1)
    session_key = KEY_PREFIX + client_a.cookies["sessionid"].value
    read: list[str] = []
    client = cache._cache.get_client(write=True)
    original = client.execute_command

    def recording(*args, **options):  # type: ignore[no-untyped-def]
        read.append(" ".join(str(part) for part in args[:5]))
        return original(*args, **options)

    client.execute_command = recording
    try:
        answer = _post(client_a, free.pk)
    finally:
        del client.execute_command
    # then it is booked, and the session was not read from the cache a second time
    assert answer.status_code == 201, answer.content
    assert read[0].startswith("EVALSHA")
    assert cache.make_and_validate_key(session_key) in read[0]
    assert not [command for command in read if command.startswith("GET")], read


def test_session_data_handed_over_is_used_only_for_its_own_key(rf, db):
    from django.contrib.sessions.backends.cached_db import SessionStore

    from consulate.kernel.accounts.sessions import IdleSessionMiddleware, session_prefetched

    store = SessionStore()
    store["_auth_user_id"] = "1"
    store.create()
    other = SessionStore()
    other["_auth_user_id"] = "2"
    other.create()
    middleware = IdleSessionMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
    # the data of another session is never taken for this one's
    request = rf.get("/", HTTP_COOKIE=f"sessionid={store.session_key}")
    session_prefetched(request, session_key=other.session_key, data={"_auth_user_id": "2"})
    middleware.process_request(request)
    assert request.session["_auth_user_id"] == "1"
    # its own is, without reading the cache
    request = rf.get("/", HTTP_COOKIE=f"sessionid={store.session_key}")
    session_prefetched(request, session_key=store.session_key, data={"_auth_user_id": "1", "x": 1})
    middleware.process_request(request)
    assert request.session["x"] == 1


def _released_in_batches() -> tuple[Slot, dt.datetime, dt.datetime]:
    """A service released in batches, a slot of it open two days ahead and with one place, and
    its next two releases (in five minutes and in a day)."""
    service = build_catalogue(code="rush", name="Rush", release_mode="scheduled")
    Slot.objects.filter(service=service).update(bookable_from=None)
    last, before_last = Slot.objects.filter(service=service).order_by("-starts_at")[:2]
    soon = timezone.now() + dt.timedelta(minutes=5)
    later = timezone.now() + dt.timedelta(days=1)
    Slot.objects.filter(pk=before_last.pk).update(bookable_from=soon)
    Slot.objects.filter(pk=last.pk).update(bookable_from=later)
    after = timezone.now() + dt.timedelta(days=2)
    slot = Slot.objects.filter(service=service, bookable_from=None, starts_at__gt=after).order_by(
        "starts_at"
    )[0]
    Slot.objects.filter(pk=slot.pk).update(capacity=1)
    slot.refresh_from_db()
    return slot, soon, later


def _next_release_reads(queries: CaptureQueriesContext) -> int:
    read = 'MIN("appointments_slot"."bookable_from")'
    return sum(read in query["sql"] for query in queries.captured_queries)


def test_the_next_release_is_kept_here_for_the_feeds_seconds_and_never_past_it(
    in_mission_a, settings, monkeypatch
):
    from appointments.selectors import service_forget_here, service_next_release

    # given the feed kept a few seconds, and a service whose next releases are soon and later
    settings.CONSULATE_AVAILABILITY_CACHE_SECONDS = 3600  # kept all through the test
    service_forget_here()
    slot, soon, later = _released_in_batches()
    service = slot.service
    # when the next release is asked for twice
    with CaptureQueriesContext(connection) as queries:
        first = service_next_release(service=service)
        second = service_next_release(service=service)
    # then it is read once, and the second answer is the copy kept here
    assert first == second
    assert abs(first - soon) < dt.timedelta(seconds=1)
    assert _next_release_reads(queries) == 1
    # and once that release has come, it is read again and names the one after
    moment = soon + dt.timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    with CaptureQueriesContext(connection) as queries:
        following = service_next_release(service=service)
    assert abs(following - later) < dt.timedelta(seconds=1)
    assert _next_release_reads(queries) == 1
    # and a change of the service through this process drops the copy at once
    Slot.objects.filter(service=service, bookable_from__gt=moment).update(bookable_from=None)
    service_forget_here()
    assert service_next_release(service=service) is None
    # and with the feed not kept, every answer is read
    settings.CONSULATE_AVAILABILITY_CACHE_SECONDS = 0
    with CaptureQueriesContext(connection) as queries:
        service_next_release(service=service)
        service_next_release(service=service)
    assert _next_release_reads(queries) == 2


def test_a_last_place_taken_at_a_release_is_kept_without_reading_the_mission(
    in_mission_a, kept, settings, django_capture_on_commit_callbacks
):
    from appointments.selectors import service_forget_here

    # given the feed kept a few seconds and a service released in batches
    settings.CONSULATE_AVAILABILITY_CACHE_SECONDS = 3600
    service_forget_here()
    slot, soon, _later = _released_in_batches()
    others = list(
        Slot.objects.filter(
            service=slot.service, bookable_from=None, starts_at__gt=slot.starts_at
        ).order_by("starts_at")[:2]
    )
    Slot.objects.filter(pk__in=[s.pk for s in others]).update(capacity=1)
    # when three bookings each take a slot's last place, each committed
    with CaptureQueriesContext(connection) as queries:
        for taken in (slot, *others):
            taken.refresh_from_db()  # one place each
            _fill(taken, django_capture_on_commit_callbacks)
    # then each slot is kept full, saying the next release
    for taken in (slot, *others):
        said = full_slot_kept(slot_id=taken.pk)
        assert said is not None
        assert said[0] == "rush"
        assert abs(said[1] - soon) < dt.timedelta(seconds=1)
    # and the next release was read once for the three, and the mission not again
    assert _next_release_reads(queries) == 1
    # (outside a request each booking reads its mission once itself; keeping it reads none)
    missions_read = [q for q in queries.captured_queries if 'FROM "missions_mission"' in q["sql"]]
    assert len(missions_read) == 3


@pytest.mark.parametrize("first", ["en", "tr"])
def test_a_release_is_written_out_in_each_readers_language(in_mission_a, first):
    from django.utils import translation

    from appointments.services.places import slot_full_error
    from missions.mail import local_time
    from missions.selectors import current_mission

    release = timezone.now() + dt.timedelta(days=3)
    zone = current_mission().zone
    said, written = {}, {}
    # when the same release is written out in one language, then in the other
    for language in (first, "tr" if first == "en" else "en"):
        with translation.override(language):
            said[language] = str(slot_full_error(next_release=release).message)
            written[language] = local_time(release, zone)
    # then each reader reads the day in their own language, whichever came first
    assert written["en"] != written["tr"]
    assert written["en"] in said["en"]
    assert "More times are released on" in said["en"]
    assert written["tr"] in said["tr"]
    assert written["en"] not in said["tr"]
    assert "(Europe/Berlin)" in said["tr"]


def test_early_refusals_at_a_release_are_the_views_answer_in_each_readers_language(
    in_mission_a, client_a, citizen, kept, settings
):
    # given a slot of a service released in batches, filled by a statement of its own
    slot, soon, _later = _released_in_batches()
    Slot.objects.filter(pk=slot.pk).update(booked=1)
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    body = _body(slot.pk, service="rush")
    # and the whole stack's answers in English and in Turkish, with the early refusal off
    settings.APPOINTMENTS_FULL_SLOT_SECONDS = 0
    through = {
        language: _post(client_a, slot.pk, body=body, HTTP_ACCEPT_LANGUAGE=language)
        for language in ("en", "tr")
    }
    settings.APPOINTMENTS_FULL_SLOT_SECONDS = 60
    _post(client_a, slot.pk, body=body)  # refused through the stack, and kept
    # when readers of either language are refused early, one after the other
    for language in ("tr", "en", "tr"):
        with CaptureQueriesContext(connection) as queries:
            early = _post(client_a, slot.pk, body=body, HTTP_ACCEPT_LANGUAGE=language)
        # then each gets the view's answer in their own language, byte for byte
        assert "appointments_" not in _read(queries)
        assert early.status_code == through[language].status_code == 400
        assert early.content == through[language].content
        assert early["Content-Language"] == language
    said = {language: json.loads(answer.content) for language, answer in through.items()}
    assert said["en"]["next_release"] == said["tr"]["next_release"]
    assert abs(dt.datetime.fromisoformat(said["tr"]["next_release"]) - soon) < dt.timedelta(
        seconds=1
    )
    assert "More times are released on" in said["en"]["message"]
    assert "More times are released on" not in said["tr"]["message"]
    assert "(Europe/Berlin)" in said["tr"]["message"]
