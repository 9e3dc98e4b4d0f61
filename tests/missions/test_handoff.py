"""Moving between hosts without a second login: HQ's dashboard and a staff member's other
missions hand the person over to a mission's host with a signed, single-use, short-lived link
(missions/services/handoff.py). Sessions stay per host; only the second factor carries over."""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
import time

import pytest
from allauth.account.authentication import get_authentication_records
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.core import signing
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from consulate.kernel.accounts.models import HqRole, User
from consulate.kernel.actors import SYSTEM
from missions.models import Handoff, Membership, Mission
from missions.services import HANDOFF_SECONDS, handoff_prune, membership_revoke
from tests.conftest import host_client, make_staff, text_of, texts_of, totp_code
from tests.factories import MembershipFactory, UserFactory

PASSWORD = "correct horse battery"  # tests.factories.UserFactory's


def enrolled(user: User) -> str:
    """Give `user` a verified e-mail and a TOTP authenticator; return its secret."""
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    secret = base64.b32encode(secrets.token_bytes(20)).decode()
    TOTP.activate(user, secret)
    return secret


def log_in(client: Client, user: User, secret: str) -> None:
    """Log in as a person does: e-mail and password, then the authenticator's code."""
    cache.clear()  # allauth refuses a TOTP code used once already; each test logs in afresh
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    assert response["Location"].endswith("/accounts/2fa/authenticate/")
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert response.status_code == 302, response.content.decode()[:500]


def handoff_link(client: Client, mission: Mission) -> str:
    """Press the mission's button (a POST at the host `client` is on); the link it leads to."""
    response = client.post(f"/accounts/handoff/to/{mission.code}/")
    assert response.status_code == 302, response.status_code
    location = response["Location"]
    assert location.startswith(f"//{mission.host}/accounts/handoff/"), location
    return location.removeprefix(f"//{mission.host}")


def follow(mission: Mission, path: str, client: Client | None = None) -> tuple[Client, object]:
    client = client or host_client(mission.host)
    return client, client.get(path)


@pytest.fixture
def analyst(db) -> tuple[User, str]:  # type: ignore[no-untyped-def]
    user = UserFactory(hq_role=HqRole.ANALYST)
    return user, enrolled(user)


@pytest.fixture
def officer_of_two(mission_a: Mission, mission_b: Mission) -> tuple[User, str]:
    user = make_staff(mission_a, "officer")
    MembershipFactory(user=user, mission=mission_b, role="cashier")
    return user, enrolled(user)


def test_an_hq_analyst_opens_a_mission_from_the_dashboard_without_logging_in_again(
    client_hq, analyst, mission_a
):
    # given an analyst logged in at HQ with their second factor
    user, secret = analyst
    log_in(client_hq, user, secret)
    # when they open alpha's page from the HQ dashboard and press the way into its staff pages
    dashboard = client_hq.get("/hq/").content.decode()
    assert f'href="/hq/missions/{mission_a.code}/"' in dashboard
    page = client_hq.get(f"/hq/missions/{mission_a.code}/").content.decode()
    assert f'action="/accounts/handoff/to/{mission_a.code}/"' in page
    assert "Open the mission's staff pages" in texts_of(page, "button")
    link = handoff_link(client_hq, mission_a)
    # then alpha's host logs them in and opens its staff area, with no login page between
    client_a, landed = follow(mission_a, link)
    assert (landed.status_code, landed["Location"]) == (302, "/staff/")
    # (the address with the token is neither cached nor sent to other sites)
    assert "no-store" in landed["Cache-Control"]
    assert landed["Referrer-Policy"] == "same-origin"
    page = client_a.get("/staff/").content.decode()
    assert f"Signed in as {user.email}." in text_of(page, "main")
    assert "Your roles here: HQ analyst" in text_of(page, "main")
    # and the hand-off is recorded: who, from where, to which mission, when
    handoff = Handoff.objects.get(user=user)
    assert (handoff.mission, handoff.origin) == (mission_a, "localhost")
    assert handoff.redeemed_at is not None


def test_staff_of_two_missions_move_from_one_to_the_other(client_a, officer_of_two, mission_b):
    # given an officer of alpha who is also a cashier at beta, logged in at alpha
    user, secret = officer_of_two
    log_in(client_a, user, secret)
    # then alpha's staff area offers beta among their other missions
    page = client_a.get("/staff/").content.decode()
    assert texts_of(page, "ul", class_="other-missions") == ["Embassy in Tokyo"]
    # and pressing it logs them in at beta as a cashier
    client_b, landed = follow(mission_b, handoff_link(client_a, mission_b))
    assert landed.status_code == 302
    page = client_b.get("/staff/").content.decode()
    assert "Your roles here: Cashier" in text_of(page, "main")


def test_a_link_works_once(client_hq, analyst, mission_a):
    # given a hand-off link that has been followed
    user, secret = analyst
    log_in(client_hq, user, secret)
    link = handoff_link(client_hq, mission_a)
    follow(mission_a, link)
    # when it is followed again (a copy from a log or a history, in another browser)
    replayer, response = follow(mission_a, link)
    # then it is refused, saying why, and that browser is not logged in
    assert response.status_code == 400
    page = response.content.decode()
    assert "expired or has been used already" in text_of(page, "p", role="alert")
    assert replayer.get("/staff/").status_code == 302  # to the login page


def test_a_link_expires_after_a_minute(client_hq, analyst, mission_a, monkeypatch):
    user, secret = analyst
    log_in(client_hq, user, secret)
    # given a link whose signature is older than the limit
    real_timestamp = signing.TimestampSigner.timestamp
    monkeypatch.setattr(
        signing.TimestampSigner,
        "timestamp",
        lambda self: signing.b62_encode(int(time.time()) - HANDOFF_SECONDS - 1),
    )
    old_signature = handoff_link(client_hq, mission_a)
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", real_timestamp)
    # and a freshly signed one whose hand-off was made more than a minute ago
    fresh_signature = handoff_link(client_hq, mission_a)
    Handoff.objects.filter(redeemed_at__isnull=True).update(
        created_at=timezone.now() - dt.timedelta(seconds=HANDOFF_SECONDS + 1)
    )
    # then neither logs anyone in
    for link in (old_signature, fresh_signature):
        browser, response = follow(mission_a, link)
        assert response.status_code == 400, link
        assert browser.get("/staff/").status_code == 302


def test_a_tampered_or_misdirected_link_is_refused(client_hq, analyst, mission_a, mission_b):
    user, secret = analyst
    log_in(client_hq, user, secret)
    link = handoff_link(client_hq, mission_a)
    token = link.split("/")[-2]
    # a changed character anywhere in the token
    for position in (0, len(token) // 2, len(token) - 1):
        changed = (
            token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
        )
        assert follow(mission_a, f"/accounts/handoff/{changed}/")[1].status_code == 400
    # a token signed with another key or purpose, naming the same hand-off
    handoff_id = str(Handoff.objects.get(user=user).pk)
    forged = signing.dumps({"h": handoff_id, "m": mission_a.code}, salt="not.the.handoff")
    assert follow(mission_a, f"/accounts/handoff/{forged}/")[1].status_code == 400
    # the genuine token at another mission's host
    assert follow(mission_b, link)[1].status_code == 400
    # and after all that the genuine link still works once, at its own host
    assert follow(mission_a, link)[1].status_code == 302


def test_someone_without_a_role_at_the_mission_gets_404(client_a, officer_a, mission_b):
    # given an officer of alpha only, logged in at alpha
    secret = enrolled(officer_a)
    log_in(client_a, officer_a, secret)
    # when they ask for a hand-off to beta
    response = client_a.post(f"/accounts/handoff/to/{mission_b.code}/")
    # then beta does not exist for them, and no link was made
    assert response.status_code == 404
    assert not Handoff.objects.filter(user=officer_a).exists()
    # nor for a mission that does not exist, or HQ's own row
    assert client_a.post("/accounts/handoff/to/nowhere/").status_code == 404
    assert client_a.post("/accounts/handoff/to/hq/").status_code == 404


def test_a_role_revoked_before_the_link_is_followed_gets_404(client_a, officer_of_two, mission_b):
    user, secret = officer_of_two
    log_in(client_a, user, secret)
    link = handoff_link(client_a, mission_b)
    # when beta revokes the role before the link is followed
    membership_revoke(
        membership=Membership.objects.get(user=user, mission=mission_b), acting_user=SYSTEM
    )
    # then beta's host answers as for anyone without a role there
    browser, response = follow(mission_b, link)
    assert response.status_code == 404
    assert browser.get("/staff/").status_code == 302


def test_only_the_second_factor_carries_over(client_hq, analyst, mission_a):
    # given an analyst's HQ session, with something of its own in it
    user, secret = analyst
    log_in(client_hq, user, secret)
    hq_session = client_hq.session
    hq_session["hq_only"] = "stays at HQ"
    hq_session.save()
    # and a browser at alpha with an earlier session of its own
    client_a = host_client(mission_a.host)
    before = client_a.session
    before["mission_only"] = "belongs to the earlier visit"
    before.save()
    earlier_key = before.session_key
    client_a.cookies["sessionid"] = earlier_key
    # when the analyst's hand-off is followed in that browser
    follow(mission_a, handoff_link(client_hq, mission_a), client_a)
    # then it has a new session, with the analyst logged in
    session = client_a.session
    assert session.session_key not in (earlier_key, hq_session.session_key)
    assert session["_auth_user_id"] == str(user.pk)
    # holding neither session's other data
    assert "hq_only" not in session
    assert "mission_only" not in session
    # and its record of how it was authenticated says: handed over, second factor passed (the
    # same authenticator), and no password typed here nor any recent reauthentication
    request = type("Request", (), {"session": session})()
    records = get_authentication_records(request, user)
    totp = Authenticator.objects.get(user=user, type="totp")
    assert [record["method"] for record in records] == ["handoff", "mfa"]
    assert records[0]["origin"] == "localhost"
    assert (records[1]["type"], records[1]["id"], records[1]["handoff"]) == ("totp", totp.pk, True)
    assert not any(record.get("reauthenticated") for record in records)
    assert set(session.keys()) <= {
        "_auth_user_id", "_auth_user_backend", "_auth_user_hash",
        "account_authentication_methods", "account_authentication_methods_user",
        "_touched",  # when it was last written (consulate/kernel/accounts/sessions.py)
    }  # fmt: skip


def test_a_session_that_skipped_the_second_factor_hands_nothing_over(client_hq, analyst, mission_a):
    # given an HQ session that did not pass a second factor (logged in some other way)
    user, _secret = analyst
    client_hq.force_login(user, backend="missions.auth.ModelBackend")
    # when they press the mission's button
    response = client_hq.post(f"/accounts/handoff/to/{mission_a.code}/")
    # then they are sent to log in there, the ordinary way, and no link is made
    assert response.status_code == 302
    assert response["Location"] == f"//{mission_a.host}/accounts/login/?next=/staff/"
    assert not Handoff.objects.filter(user=user).exists()


def test_a_link_does_not_switch_a_browser_logged_in_as_someone_else(
    client_hq, analyst, mission_a, officer_a
):
    # given a browser at alpha where an officer is logged in
    user, secret = analyst
    log_in(client_hq, user, secret)
    client_a = host_client(mission_a.host)
    client_a.force_login(officer_a, backend="missions.auth.ModelBackend")
    # when someone else's hand-off link is opened in it
    _browser, response = follow(mission_a, handoff_link(client_hq, mission_a), client_a)
    # then it is refused, saying who is logged in, and the officer stays logged in
    assert response.status_code == 403
    assert f"signed in here as {officer_a.email}" in text_of(response.content, "p", role="alert")
    assert client_a.session["_auth_user_id"] == str(officer_a.pk)


def test_the_button_is_a_post_with_the_csrf_token(analyst, mission_a):
    # a link that makes a hand-off on a GET could be planted on another site
    user, _secret = analyst
    client = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    client.force_login(user, backend="missions.auth.ModelBackend")
    assert client.get(f"/accounts/handoff/to/{mission_a.code}/").status_code == 405
    assert client.post(f"/accounts/handoff/to/{mission_a.code}/").status_code == 403
    page = client.get(f"/hq/missions/{mission_a.code}/").content.decode()
    assert re.search(
        rf'<form method="post" action="/accounts/handoff/to/{mission_a.code}/"[^>]*>'
        r'<input type="hidden" name="csrfmiddlewaretoken"',
        page,
    )


def test_old_handoffs_are_pruned(client_hq, analyst, mission_a):
    user, secret = analyst
    log_in(client_hq, user, secret)
    handoff_link(client_hq, mission_a)
    handoff_link(client_hq, mission_a)
    Handoff.objects.filter(pk=Handoff.objects.earliest("created_at").pk).update(
        created_at=timezone.now() - dt.timedelta(days=91)
    )
    assert handoff_prune() == 1
    assert Handoff.objects.filter(user=user).count() == 1


def test_two_redemptions_at_once_let_one_through(committed_db):
    import threading

    from django.db import connections

    from missions.services import handoff_create, handoff_redeem

    # given a hand-off to alpha for an HQ analyst (committed, so two connections see it)
    mission = Mission.objects.get(code="alpha")
    user = UserFactory(hq_role=HqRole.ANALYST, email="racer@example.org")
    try:
        enrolled(user)
        factor = {"type": "totp", "id": Authenticator.objects.get(user=user).pk}
        token = handoff_create(user=user, mission=mission, second_factor=factor, origin="x")
        outcomes: list[str] = []
        barrier = threading.Barrier(2)

        def redeem() -> None:
            try:
                barrier.wait()
                handoff_redeem(token=token, mission=mission)
                outcomes.append("through")
            except Exception as error:  # the refusal, whichever it is
                outcomes.append(getattr(getattr(error, "code", None), "value", repr(error)))
            finally:
                connections.close_all()

        # when two requests redeem it at the same moment
        threads = [threading.Thread(target=redeem) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # then one gets through and the other is told the link is used
        assert sorted(outcomes) == ["missions.handoff_invalid", "through"]
        assert Handoff.objects.get(user=user).redeemed_at is not None
    finally:
        Handoff.objects.filter(user=user).delete()
        Authenticator.objects.filter(user=user).delete()
        EmailAddress.objects.filter(user=user).delete()
        user.delete()
