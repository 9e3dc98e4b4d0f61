"""Staff log in with a second factor; logins are throttled per mission host; sessions rotate
at login and expire when idle."""

import datetime as dt
import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from tests.conftest import (
    MODEL_BACKEND,
    error_summary,
    error_summary_lines,
    make_staff,
    text_of,
    widget_refused,
)
from tests.factories import UserFactory

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _fresh_cache():
    # allauth remembers used TOTP codes and rate limits in the cache
    cache.clear()
    yield
    cache.clear()


def current_code() -> str:
    return format_hotp_value(hotp_value(SECRET, next(iter(yield_hotp_counters_from_time()))))


def verified(user):
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def post_login(client, email, password=PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_staff_without_a_second_factor_must_set_one_up_first(client_a, officer_a):
    # given an officer who never enrolled TOTP, logged in
    client_a.force_login(officer_a, backend=MODEL_BACKEND)
    # when they open any page
    response = client_a.get("/staff/")
    # then they are sent to set up TOTP
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"


def test_citizens_are_not_forced_to_enrol_a_second_factor(client_a, citizen):
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    assert client_a.get("/").status_code == 200


def test_staff_login_asks_for_the_code_and_rotates_the_session(client_a, officer_a):
    # given an officer with TOTP and a session from before logging in
    verified(officer_a)
    TOTP.activate(officer_a, SECRET)
    client_a.get("/accounts/login/")
    before = client_a.cookies.get(settings.SESSION_COOKIE_NAME)
    # when they give their password
    response = post_login(client_a, officer_a.email)
    # then they are asked for the second factor, not logged in yet
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/authenticate/")
    assert client_a.get("/staff/").status_code == 302
    # when they give a wrong code
    wrong = client_a.post("/accounts/2fa/authenticate/", {"code": "000000"})
    # then they are refused with a message
    assert wrong.status_code == 200
    assert "Incorrect code" in wrong.content.decode()
    # when they give the right code
    response = client_a.post("/accounts/2fa/authenticate/", {"code": current_code()})
    # then they are in, with a new session key
    assert response.status_code == 302
    assert client_a.get("/staff/").status_code == 200
    after = client_a.cookies[settings.SESSION_COOKIE_NAME].value
    assert before is None or before.value != after


@pytest.mark.parametrize(("language", "cancel"), [("en", "Cancel"), ("tr", "İptal")])
def test_the_second_factor_pages_cancel_is_spelt_right(client_a, officer_a, language, cancel):
    # given an officer with TOTP who gave their password, reading in `language`
    verified(officer_a)
    TOTP.activate(officer_a, SECRET)
    client_a.cookies["django_language"] = language
    post_login(client_a, officer_a.email)
    # when the page asks for the code
    html = client_a.get("/accounts/2fa/authenticate/").content.decode()
    # then its way out reads "İptal" in Turkish (allauth's own catalogue has "Iptal", with
    # a dotless capital I; ours overrides it)
    assert cancel in re.sub(r"\s+", " ", text_of(html, "main"))
    assert "Iptal" not in html


def test_a_used_code_cannot_be_replayed(client_a, officer_a):
    verified(officer_a)
    TOTP.activate(officer_a, SECRET)
    code = current_code()
    post_login(client_a, officer_a.email)
    client_a.post("/accounts/2fa/authenticate/", {"code": code})
    client_a.post("/accounts/logout/")
    # when the same code is offered again
    post_login(client_a, officer_a.email)
    replay = client_a.post("/accounts/2fa/authenticate/", {"code": code})
    # then it is refused
    assert replay.status_code == 200
    assert client_a.get("/staff/").status_code == 302


def test_sessions_expire_after_being_idle(client_a, citizen):
    # given a logged-in citizen
    verified(citizen)
    assert post_login(client_a, citizen.email).status_code == 302
    key = client_a.cookies[settings.SESSION_COOKIE_NAME].value
    # then a request pushes the expiry to the idle timeout from now (at most once a minute)
    expires = Session.objects.get(session_key=key).expire_date
    assert abs(expires - timezone.now() - dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)) < (
        dt.timedelta(seconds=30)
    )
    # when the idle time passes (the cached copy expires with it)
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    cache.clear()
    # then the session no longer logs them in
    response = client_a.get("/accounts/email/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_session_is_written_at_most_once_a_minute_and_moves_its_expiry_when_it_is(
    client_a, citizen
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from consulate.kernel.accounts.sessions import TOUCHED_KEY

    # given a citizen who just logged in
    verified(citizen)
    assert post_login(client_a, citizen.email).status_code == 302
    key = client_a.cookies[settings.SESSION_COOKIE_NAME].value
    # when they open pages within the minute
    with CaptureQueriesContext(connection) as queries:
        client_a.get("/appointments/")
        client_a.get("/appointments/")
    # then the session is not written again
    assert not [q for q in queries.captured_queries if "django_session" in q["sql"]]
    # when its last write is a minute old
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + dt.timedelta(seconds=60)
    )
    session = client_a.session
    session[TOUCHED_KEY] -= settings.CONSULATE_SESSION_TOUCH_SECONDS
    session.save()
    client_a.get("/appointments/")
    # then the next request writes it, with a full idle timeout from now
    expires = Session.objects.get(session_key=key).expire_date
    assert expires - timezone.now() > dt.timedelta(seconds=settings.SESSION_COOKIE_AGE - 30)


def _touch_due(client) -> None:
    from consulate.kernel.accounts.sessions import TOUCHED_KEY

    session = client.session
    session[TOUCHED_KEY] -= settings.CONSULATE_SESSION_TOUCH_SECONDS
    session.save()


def test_a_touch_is_one_statement_and_reaches_the_cached_copy(client_a, citizen):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from consulate.kernel.accounts.sessions import TOUCHED_KEY, SessionStore

    # given a citizen whose session is due a touch
    verified(citizen)
    assert post_login(client_a, citizen.email).status_code == 302
    key = client_a.cookies[settings.SESSION_COOKIE_NAME].value
    _touch_due(client_a)
    # when they open a page
    with CaptureQueriesContext(connection) as queries:
        assert client_a.get("/appointments/").status_code == 200
    # then the session is written in one UPDATE, with no transaction or savepoint around it
    sqls = [q["sql"] for q in queries.captured_queries]
    (written,) = [q for q in sqls if "django_session" in q]
    assert written.startswith("UPDATE"), written
    assert not [q for q in sqls if q.startswith(("SAVEPOINT", "BEGIN"))], sqls
    # and the database and the cached copy both hold the new touch
    stored = Session.objects.get(session_key=key).get_decoded()
    cached = cache.get(SessionStore(session_key=key).cache_key)
    assert stored[TOUCHED_KEY] == cached[TOUCHED_KEY] >= int(timezone.now().timestamp()) - 5


def test_a_touch_does_not_bring_back_a_session_gone_from_the_database(client_a, citizen):
    # given a citizen whose session was removed from the database (logged out elsewhere,
    # cleared) while the cache still holds a copy, and is due a touch
    verified(citizen)
    assert post_login(client_a, citizen.email).status_code == 302
    key = client_a.cookies[settings.SESSION_COOKIE_NAME].value
    _touch_due(client_a)
    Session.objects.filter(session_key=key).delete()
    # when they open a page, the touch finds nothing to update: refused, as Django refuses it
    assert client_a.get("/appointments/").status_code == 400
    # and the session is not written again
    assert not Session.objects.filter(session_key=key).exists()


def test_repeated_failures_lock_the_login_at_that_mission_only(client_a, client_b, citizen):
    # given a citizen whose password is being guessed at alpha
    verified(citizen)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert post_login(client_a, citizen.email, "wrong guess").status_code == 200
    # the failure that reaches the limit is answered with the lock at once
    assert post_login(client_a, citizen.email, "wrong guess").status_code == 429
    # when the right password is tried at alpha
    locked = post_login(client_a, citizen.email)
    # then alpha refuses, saying why, and does not log them in
    assert "Too many failed login attempts" in locked.content.decode()
    assert client_a.get("/accounts/email/").status_code == 302
    # and the same account still logs in at beta (the lock key includes the mission)
    assert post_login(client_b, citizen.email).status_code == 302


def test_signup_needs_a_confirmed_email(client_hq):
    # when someone signs up
    response = client_hq.post(
        "/accounts/signup/",
        {
            "email": "new.person@example.org",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
    )
    # then they are asked to confirm their address, and a mail with the link was sent
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert mail.outbox[-1].to == ["new.person@example.org"]
    link = re.search(r"https?://[^/]+(/accounts/confirm-email/[^\s]+)", mail.outbox[-1].body)
    assert link
    # when they follow it and confirm
    assert client_hq.get(link.group(1)).status_code == 200
    confirmed = client_hq.post(link.group(1))
    # then their address is verified and they are logged in
    assert confirmed.status_code == 302
    assert EmailAddress.objects.get(email="new.person@example.org").verified


@pytest.mark.parametrize(
    ("language", "labels"),
    [("en", ["Password", "Password (again)"]), ("tr", ["Parola", "Parola (tekrar)"])],
)
def test_the_signup_names_both_password_fields_with_one_word(client_hq, language, labels):
    page = client_hq.get("/accounts/signup/", HTTP_ACCEPT_LANGUAGE=language).content
    assert [text_of(page, "label", **{"for": f"id_password{n}"}) for n in (1, 2)] == labels


def test_bad_signup_input_changes_nothing(client_hq):
    response = client_hq.post(
        "/accounts/signup/", {"email": "not-an-email", "password1": "short", "password2": "other"}
    )
    assert response.status_code == 200
    assert not EmailAddress.objects.filter(email="not-an-email").exists()
    assert mail.outbox == []


def test_the_admin_logs_in_through_the_second_factor_login(client_hq):
    response = client_hq.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_staff_role_at_a_mission_means_second_factor_everywhere(mission_b):
    cashier = make_staff(mission_b, "cashier")
    assert cashier.needs_second_factor()
    assert not UserFactory().needs_second_factor()


def test_new_staff_confirm_their_password_then_enrol_totp(client_a, officer_a):
    # given an officer who has never enrolled a second factor
    verified(officer_a)
    # when they log in with their password and open the staff area
    assert post_login(client_a, officer_a.email).status_code == 302
    response = client_a.get("/staff/", follow=True)
    # then they are asked to confirm their password before binding an authenticator (kept on
    # purpose: a stolen session alone cannot enrol the thief's own authenticator)
    assert response.redirect_chain[-1][0].startswith("/accounts/reauthenticate/")
    response = client_a.post(response.redirect_chain[-1][0], {"password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/2fa/totp/activate/"
    # and setting it up with a valid code lets them in
    secret = response.context["form"].secret
    code = format_hotp_value(hotp_value(secret, next(iter(yield_hotp_counters_from_time()))))
    done = client_a.post("/accounts/2fa/totp/activate/", {"code": code}, follow=True)
    assert done.status_code == 200
    assert client_a.get("/staff/").status_code == 200
    # and recovery codes were issued with it, for a lost phone
    codes = Authenticator.objects.get(user=officer_a, type=Authenticator.Type.RECOVERY_CODES)
    assert len(RecoveryCodes(codes).get_unused_codes()) >= 10


def test_a_recovery_code_logs_in_once_when_the_phone_is_lost(client_a, officer_a):
    # given an officer with TOTP and recovery codes
    verified(officer_a)
    TOTP.activate(officer_a, SECRET)
    recovery = RecoveryCodes.activate(officer_a).get_unused_codes()[0]
    # when they log in with a recovery code instead of the authenticator's code
    post_login(client_a, officer_a.email)
    client_a.post("/accounts/2fa/authenticate/", {"code": recovery})
    # then they are in
    assert client_a.get("/staff/").status_code == 200
    # and the same code does not work a second time
    client_a.post("/accounts/logout/")
    post_login(client_a, officer_a.email)
    client_a.post("/accounts/2fa/authenticate/", {"code": recovery})
    assert client_a.get("/staff/").status_code == 302


@pytest.mark.parametrize(
    ("language", "heading", "required"),
    [("en", "There is a problem", "This field is required."), ("tr", "Bir sorun var", None)],
)
def test_a_refused_login_is_named_at_the_top_as_every_form_names_it(
    client_a, citizen, language, heading, required
):
    verified(citizen)
    # when the password is wrong: a reason for no one field, at the top of the form
    wrong = client_a.post(
        "/accounts/login/",
        {"login": citizen.email, "password": "wrong guess"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    page = wrong.content.decode()
    assert text_of(page, "h2", id="error-summary-heading") == heading
    [said] = error_summary_lines(page)
    assert said
    assert citizen.email not in said
    # when the password is left out: the field named and linked, and tied to its reason
    empty = client_a.post(
        "/accounts/login/", {"login": citizen.email}, HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    [(link, text)] = error_summary(empty)
    assert link == "#id_password"
    if required:
        assert text.endswith(f": {required}")
    assert widget_refused(empty, "id_password")
