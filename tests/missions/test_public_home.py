"""The mission's home is the same for every reader who is not signed in, and is answered from a
copy at most CONSULATE_PUBLIC_RESPONSE_SECONDS old (consulate/kernel/public_cache.py): never to
a signed-in reader or one with a message waiting, never a signed-in reader's page to anyone
else, and the language form works without a token."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from missions.models import Mission
from tests.conftest import MODEL_BACKEND, host_client


@pytest.fixture
def kept(settings):
    settings.CONSULATE_PUBLIC_RESPONSE_SECONDS = 60
    return settings


def _rename(mission: Mission, name: str) -> None:
    # behind the ORM's signals, so that neither the page's fragments nor the host's cached
    # mission notice: only a fresh render would show the new name
    Mission.objects.filter(pk=mission.pk).update(name_en=name)


@pytest.mark.usefixtures("kept")
def test_a_visitor_gets_the_kept_home_without_a_statement_and_without_a_cookie(mission_a):
    # given the home served once to a visitor who is not signed in
    first = host_client(mission_a.host).get("/")
    assert first.status_code == 200
    assert not first.cookies  # no session, no CSRF cookie: nothing of this reader's
    assert b"csrfmiddlewaretoken" not in first.content
    _rename(mission_a, "Renamed in the database")
    # when another visitor asks
    with CaptureQueriesContext(connection) as queries:
        second = host_client(mission_a.host).get("/")
    # then the kept page comes, byte for byte, with no cookie, and nothing is read for it but
    # the mission of the host (whose cache the test settings turn off)
    assert second.content == first.content
    assert second["Content-Type"].startswith("text/html")
    assert not second.cookies
    statements = [q["sql"] for q in queries.captured_queries]
    assert statements
    assert all("missions_domain" in sql or "search_path" in sql for sql in statements)


@pytest.mark.usefixtures("kept")
def test_a_signed_in_readers_page_is_never_a_visitors_and_the_reverse(mission_a, citizen):
    visitor = host_client(mission_a.host)
    member = host_client(mission_a.host)
    member.force_login(citizen, backend=MODEL_BACKEND)
    # a signed-in reader asks first: their page has a log-out form with its token
    own = member.get("/").content.decode()
    assert "Sign out" in own
    assert "csrfmiddlewaretoken" in own
    # a visitor never gets it, and the signed-in reader never gets the visitor's
    assert "Sign out" not in visitor.get("/").content.decode()
    assert "Sign out" in member.get("/").content.decode()


def _token(page: bytes) -> str:
    import re

    found = re.findall(rb'name="csrfmiddlewaretoken" value="([A-Za-z0-9]+)"', page)
    assert len(found) == 1
    return found[0].decode()


@pytest.mark.usefixtures("kept")
def test_signed_in_readers_with_one_navigation_share_a_copy_with_their_own_token(mission_a):
    from tests.factories import UserFactory

    first, second = UserFactory(), UserFactory()
    ada = host_client(mission_a.host)
    ada.force_login(first, backend=MODEL_BACKEND)
    kept_page = ada.get("/")
    _rename(mission_a, "Renamed in the database")
    # when another citizen (the same navigation) asks
    bob = host_client(mission_a.host)
    bob.force_login(second, backend=MODEL_BACKEND)
    bob.handler.enforce_csrf_checks = True
    with CaptureQueriesContext(connection) as queries:
        page = bob.get("/")
    # then the kept copy comes, nothing of the page read again (the mission's availability)
    assert "Renamed in the database" not in page.content.decode()
    assert "appointments_" not in " ".join(q["sql"] for q in queries.captured_queries)
    # with only the form's token changed: his own, which his log-out form is accepted with
    token = _token(page.content)
    assert token != _token(kept_page.content)
    assert page.content.replace(token.encode(), b"") == kept_page.content.replace(
        _token(kept_page.content).encode(), b""
    )
    assert first.email not in page.content.decode()
    assert bob.post("/accounts/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert bob.post("/accounts/logout/", {"csrfmiddlewaretoken": "x" * 64}).status_code == 403


@pytest.mark.usefixtures("kept")
def test_staff_get_the_copy_of_their_own_navigation(mission_a, citizen):
    from missions.models import Role
    from tests.conftest import make_staff

    member = host_client(mission_a.host)
    member.force_login(citizen, backend=MODEL_BACKEND)
    assert "Staff" not in member.get("/").content.decode()
    # an officer (who passed the second factor) gets the staff navigation, not the citizen's
    from allauth.mfa.models import Authenticator

    staff = make_staff(mission_a, Role.OFFICER)
    Authenticator.objects.create(user=staff, type="totp", data={"secret": "ABC"})
    officer = host_client(mission_a.host)
    officer.force_login(staff, backend=MODEL_BACKEND)
    staff_page = officer.get("/").content.decode()
    assert "Day sheet" in staff_page
    assert staff_page != member.get("/").content.decode()


@pytest.mark.parametrize("shown", ["email", "escaped name"])
def test_a_page_that_names_its_reader_is_never_kept(mission_a, citizen, kept, shown):
    from django.core.cache import cache
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.utils.html import escape

    from consulate.kernel.public_cache import _reader_page

    calls = []
    citizen.last_name = "O'Brien"
    text = citizen.email if shown == "email" else escape(citizen.last_name)

    def view(request):  # type: ignore[no-untyped-def]
        calls.append(1)
        return HttpResponse(f"<p>Hello {text}</p>", content_type="text/html")

    request = RequestFactory().get("/", HTTP_HOST=mission_a.host)
    request.user = citizen
    request.session = {}  # type: ignore[assignment]
    request.tenant = mission_a  # type: ignore[attr-defined]
    cache.clear()
    for _ in range(2):
        assert text in _reader_page(request, view, lambda r: "v", (), {}).content.decode()
    # rendered for each request: never kept, so never another reader's
    assert len(calls) == 2


def test_a_message_waiting_in_the_session_is_shown_to_the_signed_in_reader(
    mission_a, citizen, kept
):
    # messages kept in the session alone (Django's fallback storage keeps a cookie too)
    kept.MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
    member = host_client(mission_a.host)
    member.force_login(citizen, backend=MODEL_BACKEND)
    member.get("/")  # kept
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.session import SessionStorage
    from django.http import HttpRequest

    session = member.session
    carrier = HttpRequest()
    carrier.session = session
    SessionStorage(carrier)._store([Message(constants.SUCCESS, "Your booking is made.")], None)
    session.save()
    assert "Your booking is made." in member.get("/").content.decode()


@pytest.mark.usefixtures("kept")
def test_a_message_waiting_is_shown_not_skipped(mission_a):
    # given the home kept
    host_client(mission_a.host).get("/")
    # when a visitor comes with a message waiting (as after signing out)
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.http import HttpRequest, HttpResponse

    storage = CookieStorage(HttpRequest())
    carrier = HttpResponse()
    storage._store([Message(constants.SUCCESS, "You have signed out.")], carrier)
    client = host_client(mission_a.host)
    client.cookies["messages"] = carrier.cookies["messages"].value
    page = client.get("/").content.decode()
    # then the page is rendered for them, with the message
    assert "You have signed out." in page


@pytest.mark.usefixtures("kept")
def test_each_language_has_its_own_copy(mission_a):
    english = host_client(mission_a.host).get("/")
    turkish = host_client(mission_a.host).get("/", HTTP_ACCEPT_LANGUAGE="tr")
    assert english["Content-Language"] == "en"
    assert turkish["Content-Language"] == "tr"
    assert english.content != turkish.content
    assert host_client(mission_a.host).get("/", HTTP_ACCEPT_LANGUAGE="tr").content == (
        turkish.content
    )


def test_the_language_form_changes_the_language_without_a_token(mission_a):
    client = host_client(mission_a.host)
    client.handler.enforce_csrf_checks = True
    response = client.post("/i18n/setlang/", {"language": "tr", "next": "/"})
    assert response.status_code == 302
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "tr"
    assert client.get("/")["Content-Language"] == "tr"


def _decision(*, signed_in: bool, sets_cookie: bool, kind: str = "text/html; charset=utf-8"):
    from types import SimpleNamespace

    from django.http import HttpResponse

    from consulate.kernel.public_cache import PAGE, _keepable

    request = SimpleNamespace(user=SimpleNamespace(is_authenticated=signed_in))
    response = HttpResponse("<p>page</p>", content_type=kind)
    if sets_cookie:
        response.set_cookie("csrftoken", "x")
    return _keepable(request, response, PAGE)  # type: ignore[arg-type]


def test_a_page_is_kept_only_from_a_reader_not_signed_in_when_it_sets_no_cookie():
    assert _decision(signed_in=False, sets_cookie=False) is True
    # signed in without a session cookie of this name (another way in): never kept
    assert _decision(signed_in=True, sets_cookie=False) is False
    # an answer that gave the reader a cookie (a form's token) holds something of theirs
    assert _decision(signed_in=False, sets_cookie=True) is False
    # a marked page that answered JSON, or an error, is not a page to keep
    assert _decision(signed_in=False, sets_cookie=False, kind="application/json") is False


@pytest.mark.usefixtures("kept")
def test_a_query_string_or_another_port_never_gets_anothers_copy(mission_a):
    first = host_client(mission_a.host).get("/")
    _rename(mission_a, "Renamed in the database")
    # a query string is always answered fresh
    fresh = host_client(mission_a.host).get("/?from=newsletter")
    assert "Renamed in the database" in fresh.content.decode()
    # a request on another port gets a page whose links keep its own port, not the first's
    other = host_client(mission_a.host).get("/", SERVER_PORT="8443")
    assert other.content != first.content
    assert ":8443/" in other.content.decode()
    # and the first reader's copy is still the one for its port
    assert host_client(mission_a.host).get("/").content == first.content


@pytest.mark.usefixtures("kept")
def test_the_kept_copy_says_its_length(mission_a):
    first = host_client(mission_a.host).get("/")
    second = host_client(mission_a.host).get("/")
    assert second["Content-Length"] == str(len(first.content))


def test_the_language_form_refuses_bad_input_and_redirects_only_here(mission_a):
    client = host_client(mission_a.host)
    # a NUL byte: refused with a 400, no cookie set
    response = client.post("/i18n/setlang/", {"language": "tr\x00", "next": "/"})
    assert response.status_code == 400
    assert django_settings.LANGUAGE_COOKIE_NAME not in response.cookies
    # an unknown language, a huge value, another host as `next`: back to this host, unchanged
    for data in (
        {"language": "x" * 100_000, "next": "/" + "a" * 100_000},
        {"language": "tr", "next": "//evil.example/"},
        {"language": "tr", "next": "https://evil.example/"},
    ):
        response = client.post("/i18n/setlang/", data)
        assert response.status_code == 302
        assert not response["Location"].startswith(("//", "http"))


# --- a signed-in reader's home from their reader cookie, before the session is read ---------


@pytest.fixture
def sessions_read(monkeypatch):
    """Each time a session is read from its store (the cache, then the database)."""
    from consulate.kernel.accounts.sessions import SessionStore

    reads: list[str] = []
    load = SessionStore.load

    def counted(self):  # type: ignore[no-untyped-def]
        reads.append(self.session_key)
        return load(self)

    monkeypatch.setattr(SessionStore, "load", counted)
    return reads


def _signed_in(mission: Mission, user) -> object:  # type: ignore[no-untyped-def]
    # a name no page holds: a page that names its reader is never kept, and a made-up name
    # ("Day", "May") can be a word of the page (the kept copy and the cookie would not come)
    user.first_name, user.last_name = "Zuleika", "Qwerxy"
    user.save(update_fields=["first_name", "last_name"])
    client = host_client(mission.host)
    client.force_login(user, backend=MODEL_BACKEND)
    return client


@pytest.mark.usefixtures("kept")
@pytest.mark.parametrize(("language", "log_out"), [("en", "Sign out"), ("tr", "Oturumu kapat")])
def test_a_signed_in_reader_gets_the_kept_home_from_the_reader_cookie(
    mission_a, citizen, sessions_read, language, log_out
):
    from consulate.kernel.public_cache import READER_COOKIE

    member = _signed_in(mission_a, citizen)
    member.handler.enforce_csrf_checks = True
    # given the home read once through the whole stack: it gives the reader cookie
    first = member.get("/", HTTP_ACCEPT_LANGUAGE=language)
    cookie = first.cookies[READER_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["max-age"] == 60
    assert cookie["samesite"] == "Lax"
    assert citizen.email not in cookie.value
    _rename(mission_a, "Renamed in the database")
    sessions_read.clear()
    # when the reader opens it again
    with CaptureQueriesContext(connection) as queries:
        again = member.get("/", HTTP_ACCEPT_LANGUAGE=language)
    # then the kept page comes without the session read and without a statement of theirs
    assert sessions_read == []
    statements = [q["sql"] for q in queries.captured_queries]
    assert all("missions_domain" in sql or "search_path" in sql for sql in statements)
    page = again.content.decode()
    assert "Renamed in the database" not in page
    assert log_out in page
    assert again["Content-Language"] == language
    for header in ("Content-Type", "Vary", "X-Frame-Options"):
        assert again[header] == first[header]
    assert again["Content-Length"] == str(len(again.content))
    assert READER_COOKIE not in again.cookies  # no new cookie from a page read this way
    # with a form token of their own, which their log-out form is accepted with
    token = _token(again.content)
    assert token != _token(first.content)
    assert again.content.replace(token.encode(), b"") == first.content.replace(
        _token(first.content).encode(), b""
    )
    assert member.post("/accounts/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    # and once logged out, the visitors' page (the cookie is bound to the session it came with)
    assert log_out not in member.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()


@pytest.mark.usefixtures("kept")
def test_a_readers_stale_copy_is_renewed_by_one_request_while_the_others_get_it(
    mission_a, citizen, sessions_read, public_clock, renewal_held_elsewhere
):
    member = _signed_in(mission_a, citizen)
    # given the home kept for a signed-in reader, then the mission renamed in the database
    first = member.get("/")
    _rename(mission_a, "Renamed in the database")
    public_clock[0] += 61
    # when the copy has gone stale while another process renews it
    sessions_read.clear()
    meanwhile = member.get("/")
    # then the reader is still served the old copy from their reader cookie, the session unread
    assert sessions_read == []
    assert "Renamed in the database" not in meanwhile.content.decode()
    assert "Sign out" in meanwhile.content.decode()
    # when no one renews it, the first request to find it stale goes through the whole stack
    # and renders the page anew (not the old copy the view would find kept)
    renewal_held_elsewhere[0] = False
    renewed = member.get("/")
    assert sessions_read != []
    assert "Renamed in the database" in renewed.content.decode()
    # and the next read is the renewed copy, from the cookie again, with the headers kept
    sessions_read.clear()
    again = member.get("/")
    assert sessions_read == []
    assert "Renamed in the database" in again.content.decode()
    assert again["Content-Language"] == first["Content-Language"]
    assert again["Vary"] == first["Vary"]


@pytest.mark.usefixtures("kept")
def test_a_reader_cookie_taken_to_another_session_shows_nothing_of_its_own(
    mission_a, citizen, sessions_read
):
    from allauth.mfa.models import Authenticator

    from consulate.kernel.public_cache import READER_COOKIE
    from missions.models import Role
    from tests.conftest import make_staff

    staff = make_staff(mission_a, Role.OFFICER)
    Authenticator.objects.create(user=staff, type="totp", data={"secret": "ABC"})
    officer = _signed_in(mission_a, staff)
    officers_cookie = officer.get("/").cookies[READER_COOKIE].value
    assert "Day sheet" in officer.get("/").content.decode()
    # a citizen who copies the officer's reader cookie into their own browser
    member = _signed_in(mission_a, citizen)
    member.get("/")
    member.cookies[READER_COOKIE] = officers_cookie
    sessions_read.clear()
    page = member.get("/").content.decode()
    # gets their own page, read through the whole stack: not the officer's navigation
    assert "Day sheet" not in page
    assert sessions_read


@pytest.mark.usefixtures("kept")
@pytest.mark.parametrize("spoiled", ["tampered", "expired", "another salt"])
def test_a_reader_cookie_that_is_not_good_is_ignored(
    mission_a, citizen, sessions_read, monkeypatch, spoiled
):
    import time

    from django.core import signing

    from consulate.kernel import public_cache

    member = _signed_in(mission_a, citizen)
    value = member.get("/").cookies[public_cache.READER_COOKIE].value
    reader, tag = signing.loads(value, salt=public_cache._READER_SALT)
    staff_variant = reader.replace("0|", "1|", 1) + "mission.view"
    if spoiled == "tampered":  # the variant changed, the signature kept
        _payload, _, signed = value.partition(":")  # the stamp and the signature
        forged = signing.dumps([staff_variant, tag], salt=public_cache._READER_SALT)
        member.cookies[public_cache.READER_COOKIE] = forged.partition(":")[0] + ":" + signed
    elif spoiled == "another salt":  # signed with the secret key for something else
        member.cookies[public_cache.READER_COOKIE] = signing.dumps([staff_variant, tag])
    else:  # signed 61 s ago: its life has passed (a browser would have dropped it)
        now = time.time()
        with monkeypatch.context() as then:
            then.setattr(time, "time", lambda: now - 61)
            old = signing.dumps([reader, tag], salt=public_cache._READER_SALT)
        member.cookies[public_cache.READER_COOKIE] = old
    sessions_read.clear()
    page = member.get("/")
    assert page.status_code == 200
    assert sessions_read  # read through the whole stack
    assert "Sign out" in page.content.decode()


@pytest.mark.usefixtures("kept")
def test_a_message_waiting_in_its_cookie_is_shown_to_a_reader_with_the_cookie(mission_a, citizen):
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.http import HttpRequest, HttpResponse

    member = _signed_in(mission_a, citizen)
    member.get("/")
    member.get("/")  # from the reader cookie
    carrier = HttpResponse()
    CookieStorage(HttpRequest())._store([Message(constants.SUCCESS, "Booked.")], carrier)
    member.cookies["messages"] = carrier.cookies["messages"].value
    assert "Booked." in member.get("/").content.decode()


def test_no_reader_cookie_where_messages_can_wait_in_the_session_alone(mission_a, citizen, kept):
    from consulate.kernel.public_cache import READER_COOKIE

    kept.MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
    member = _signed_in(mission_a, citizen)
    assert READER_COOKIE not in member.get("/").cookies
