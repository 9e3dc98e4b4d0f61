"""The availability feed (page and API) is answered from the cache before the session is read
(consulate/kernel/public_cache.py): per mission, language and Accept header, for at most
CONSULATE_PUBLIC_RESPONSE_SECONDS; nothing personal, no cookie, no other view."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from appointments.models import Service
from tests.appointments.conftest import build_catalogue
from tests.conftest import MODEL_BACKEND

FEED = "/appointments/availability.json"
API = "/api/v1/appointments/availability/"


@pytest.fixture
def kept(settings):
    settings.CONSULATE_PUBLIC_RESPONSE_SECONDS = 60
    return settings


def _names(response) -> list[str]:
    body = json.loads(response.content)
    services = body["services"] if isinstance(body, dict) else body
    return [service["name"] for service in services]


@pytest.mark.parametrize("path", [FEED, API])
def test_a_second_reader_gets_the_kept_answer_without_a_statement_for_it(
    catalogue, client_a, kept, path, citizen
):
    # given a first answer, read by a signed-in citizen (a session, a user)
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    first = client_a.get(path)
    assert first.status_code == 200
    # when the service's name changes in the database and another reader asks
    Service.objects.filter(pk=catalogue.pk).update(name_en="Renamed in the database")
    with CaptureQueriesContext(connection) as queries:
        second = client_a.get(path, HTTP_COOKIE="")
    # then the kept answer comes, byte for byte, with its type and language, and no cookie
    assert second.status_code == 200
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"]
    assert second["Content-Language"] == "en"
    assert "Accept-Language" in second["Vary"]
    assert not second.cookies
    # and the session and the user were not read for it (what is left is the mission's host)
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    assert "django_session" not in sql
    assert "accounts_user" not in sql
    assert "appointments_" not in sql


def test_the_answer_is_kept_per_language_per_mission_and_only_while_fresh(
    catalogue, client_a, client_b, mission_a, mission_b, kept, settings
):
    # given the English feed kept, of a service named in both languages
    Service.objects.filter(pk=catalogue.pk).update(name_tr="Pasaport başvurusu")
    english = client_a.get(FEED)
    # when a Turkish reader asks, then the Turkish answer comes, not the English one
    turkish = client_a.get(FEED, HTTP_ACCEPT_LANGUAGE="tr")
    assert turkish["Content-Language"] == "tr"
    assert _names(turkish) == ["Pasaport başvurusu"]
    assert _names(english) == ["Passport application"]
    # and another mission's host gets its own feed, never mission A's
    with schema_context(mission_b.schema_name):
        build_catalogue()
    other = json.loads(client_b.get(FEED).content)
    assert other["mission"] == mission_b.code
    # and with the window at 0 the database's present state is read again
    with schema_context(mission_a.schema_name):  # the last request left the connection on B
        Service.objects.filter(pk=catalogue.pk).update(name_en="Renamed in the database")
    settings.CONSULATE_PUBLIC_RESPONSE_SECONDS = 0
    assert "Renamed in the database" in _names(client_a.get(FEED))


def test_variants_personal_pages_and_writes_are_never_kept(catalogue, client_a, citizen, kept):
    # given a query string: each request goes through (a client cannot fill the cache)
    client_a.get(FEED + "?x=1")
    Service.objects.filter(pk=catalogue.pk).update(name_en="Renamed in the database")
    assert "Renamed in the database" in _names(client_a.get(FEED + "?x=1"))
    # and a page that shows who is signed in is never served from this cache
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    assert "Sign out" in client_a.get("/").content.decode()
    client_a.logout()
    assert "Sign out" not in client_a.get("/").content.decode()
    # and a write to a kept path is not answered from the cache, even while an answer is kept
    assert client_a.get(FEED).status_code == 200
    assert client_a.post(FEED).status_code == 405
    assert client_a.head(FEED).status_code == 200


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_browser_on_the_api_gets_json_and_never_another_readers_page(
    catalogue, client_a, citizen, kept
):
    # given a signed-in citizen opening the feed's API address in a browser
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    theirs = client_a.get(API, HTTP_ACCEPT=BROWSER_ACCEPT)
    # then the answer is the JSON feed, not the browsable API's page naming them
    assert theirs["Content-Type"] == "application/json"
    assert citizen.email not in theirs.content.decode()
    # and another browser, signed out, gets the same JSON and nothing of theirs
    other = Client(HTTP_HOST=client_a.defaults["HTTP_HOST"])
    answer = other.get(API, HTTP_ACCEPT=BROWSER_ACCEPT)
    assert answer.content == theirs.content
    assert citizen.email not in answer.content.decode()
    assert "csrf" not in answer.content.decode().lower()


def _statements(queries: CaptureQueriesContext) -> str:
    return " ".join(query["sql"] for query in queries.captured_queries)


def test_a_stale_answer_is_renewed_by_one_request_while_the_others_are_still_served_it(
    catalogue, client_a, kept, public_clock, renewal_held_elsewhere
):
    # given the feed kept for 60 s, and the service renamed in the database since
    first = client_a.get(FEED)
    Service.objects.filter(pk=catalogue.pk).update(name_en="Renamed in the database")
    # while the copy is fresh, it is the answer
    public_clock[0] += 59
    assert client_a.get(FEED).content == first.content
    # when it has gone stale while another process renews it (it holds the renewal's claim)
    public_clock[0] += 2
    with CaptureQueriesContext(connection) as queries:
        meanwhile = client_a.get(FEED)
    # then this request is still served the old copy, without reading the feed
    assert meanwhile.content == first.content
    assert "appointments_" not in _statements(queries)
    # when no one renews it, the first request to find it stale does: the database's state
    renewal_held_elsewhere[0] = False
    assert _names(client_a.get(FEED)) == ["Renamed in the database"]
    # and the renewed copy is served to the next reader, fresh for another 60 s
    Service.objects.filter(pk=catalogue.pk).update(name_en="Renamed twice")
    public_clock[0] += 59
    with CaptureQueriesContext(connection) as queries:
        assert _names(client_a.get(FEED)) == ["Renamed in the database"]
    assert "appointments_" not in _statements(queries)


@pytest.mark.usefixtures("renewal_held_elsewhere")
def test_a_stale_answer_is_served_at_most_stale_seconds_past_its_time(
    catalogue, client_a, kept, public_clock
):
    from consulate.kernel import public_cache

    # given a kept feed gone stale, and a renewal that never comes (its claim held elsewhere)
    first = client_a.get(FEED)
    Service.objects.filter(pk=catalogue.pk).update(name_en="Renamed in the database")
    public_clock[0] += 60 + public_cache.STALE_SECONDS - 0.5
    assert client_a.get(FEED).content == first.content
    # when STALE_SECONDS have passed since it went stale, then every request reads the database
    public_clock[0] += 0.5
    assert _names(client_a.get(FEED)) == ["Renamed in the database"]


def test_one_request_of_all_processes_claims_a_copys_renewal():
    from consulate.kernel.public_cache import _renewal_claimed

    # the first claim of a copy's renewal is taken, a second is not, another copy's is
    assert _renewal_claimed("public-kept:one", 60) is True
    assert _renewal_claimed("public-kept:one", 60) is False
    assert _renewal_claimed("public-kept:two", 60) is True
