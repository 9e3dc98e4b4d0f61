"""allauth's e-mails (consulate/templates/account/email/) as their reader reads them: a subject
that names the service with no "[host:port]" prefix, a body in the reader's language that names
the mission, and links that work on the host and port the person used."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import translation
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import User
from missions.models import Mission
from tests.conftest import MODEL_BACKEND
from tests.factories import UserFactory

PASSWORD = "correct horse battery"
TEMPLATES = Path(__file__).resolve().parents[2] / "consulate" / "templates" / "account" / "email"
# The development server's port, which links must keep.
HOST = "alpha.localhost:8200"

SUBJECTS = {
    "confirm": {
        "en": "Confirm your e-mail address for the consular e-services",
        "tr": "Konsolosluk e-hizmetleri için e-posta adresinizi doğrulayın",
    },
    "reset": {
        "en": "Reset your password for the consular e-services",
        "tr": "Konsolosluk e-hizmetleri parolanızı sıfırlayın",
    },
    "unknown": {
        "en": "No account for this e-mail address at the consular e-services",
        "tr": "Bu e-posta adresiyle konsolosluk e-hizmetlerinde açılmış bir hesap yok",
    },
    "exists": {
        "en": "You already have an account for the consular e-services",
        "tr": "Konsolosluk e-hizmetlerinde zaten bir hesabınız var",
    },
    "password_changed": {
        "en": "Your password for the consular e-services was changed",
        "tr": "Konsolosluk e-hizmetleri parolanız değiştirildi",
    },
}
SIGNATURE = {
    "en": "The consular e-services of the Consulate-General in Berlin",
    "tr": "Consulate-General in Berlin – Konsolosluk e-hizmetleri",
}


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()  # allauth's rate limits


@pytest.fixture(params=["en", "tr"])
def language(request) -> str:  # type: ignore[no-untyped-def]
    return request.param


def browser(language: str, host: str = HOST) -> Client:
    """A person at alpha's host (development port kept) whose browser asks for `language`."""
    return Client(HTTP_HOST=host, HTTP_ACCEPT_LANGUAGE=language)


def link(body: str, path: str) -> str:
    found = re.search(rf"(https?://[^/\s]+)({re.escape(path)}[^\s]*)", body)
    assert found, f"no link to {path} in:\n{body}"
    assert found.group(1) == f"http://{HOST}", "the link must reach the host and port used"
    return found.group(2)


def assert_reads_well(body: str, language: str) -> None:
    assert body.startswith("Merhaba," if language == "tr" else "Hello,")
    assert SIGNATURE[language] in body
    assert f"http://{HOST}/" in body
    assert "Hello from" not in body
    assert "Thank you for using" not in body


def test_the_sign_up_mail_names_the_service_and_its_link_works(
    mission_a: Mission, language: str
) -> None:
    client = browser(language)
    # when someone signs up at alpha in `language`
    response = client.post(
        "/accounts/signup/",
        {"email": "new.person@example.org", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    # then the confirmation reads, in that language, with no bracketed host
    (message,) = mail.outbox
    assert message.subject == SUBJECTS["confirm"][language]
    assert_reads_well(message.body, language)
    assert "new.person@example.org" in message.body
    if language == "tr":
        assert "Adresinizi doğrulamak ve kaydı tamamlamak için bu bağlantıyı açın:" in message.body
    else:
        assert "To confirm your address and finish signing up, open this link:" in message.body
    # and its link, on the same host and port, confirms the address
    path = link(message.body, "/accounts/confirm-email/")
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 302
    assert EmailAddress.objects.get(email="new.person@example.org").verified


def test_the_password_reset_mail_reads_well_and_its_link_works(
    mission_a: Mission, citizen: User, language: str
) -> None:
    client = browser(language)
    # when a citizen asks for a new password
    response = client.post("/accounts/password/reset/", {"email": citizen.email})
    assert response.status_code == 302
    # then the mail names the service, in their language
    (message,) = mail.outbox
    assert message.subject == SUBJECTS["reset"][language]
    assert_reads_well(message.body, language)
    assert citizen.email in message.body
    expected = (
        "Yeni bir parola belirlemek için bu bağlantıyı açın:"
        if language == "tr"
        else "To choose a new password, open this link:"
    )
    assert expected in message.body
    # and its link leads to the form that sets it
    path = link(message.body, "/accounts/password/reset/key/")
    response = client.get(path, follow=True)
    assert response.status_code == 200
    assert "password1" in response.content.decode()


def test_a_reset_for_an_unknown_address_says_so_and_links_to_sign_up(
    mission_a: Mission, language: str
) -> None:
    client = browser(language)
    client.post("/accounts/password/reset/", {"email": "nobody@example.org"})
    (message,) = mail.outbox
    assert message.subject == SUBJECTS["unknown"][language]
    assert_reads_well(message.body, language)
    assert client.get(link(message.body, "/accounts/signup/")).status_code == 200


def test_signing_up_again_says_the_account_exists(
    mission_a: Mission, citizen: User, language: str
) -> None:
    EmailAddress.objects.create(user=citizen, email=citizen.email, verified=True, primary=True)
    client = browser(language)
    client.post(
        "/accounts/signup/", {"email": citizen.email, "password1": PASSWORD, "password2": PASSWORD}
    )
    (message,) = mail.outbox
    assert message.subject == SUBJECTS["exists"][language]
    assert_reads_well(message.body, language)
    assert client.get(link(message.body, "/accounts/password/reset/")).status_code == 200


def test_a_change_notification_gives_its_time_in_the_missions_zone(  # type: ignore[no-untyped-def]
    mission_b: Mission, settings, language: str
) -> None:
    # given notifications on, and a citizen signed in at Tokyo
    settings.ACCOUNT_EMAIL_NOTIFICATIONS = True
    user = UserFactory(email="tokyo.citizen@example.org")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client = Client(HTTP_HOST="beta.localhost:8200", HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user, backend=MODEL_BACKEND)
    # when they change their password
    new = "a new long phrase"
    response = client.post(
        "/accounts/password/change/", {"oldpassword": PASSWORD, "password1": new, "password2": new}
    )
    assert response.status_code == 302
    # then the notice says so in their language, and when, in Tokyo time with the zone named
    (message,) = mail.outbox
    assert message.subject == SUBJECTS["password_changed"][language]
    assert "(Asia/Tokyo)" in message.body
    assert ("Parolanız değiştirildi." if language == "tr" else "Your password was changed.") in (
        message.body
    )


def test_every_allauth_mail_has_a_translated_subject_and_body(mission_a: Mission) -> None:
    # given every e-mail allauth may send (those above, and the codes and notifications)
    request = RequestFactory().get("/", HTTP_HOST=HOST)
    request.tenant = mission_a  # type: ignore[attr-defined]
    context = {
        "request": request, "email": "a@example.org", "code": "123456", "activate_url": "u",
        "password_reset_url": "u", "signup_url": "u", "from_email": "a@example.org",
        "to_email": "b@example.org", "deleted_email": "c@example.org", "ip": "192.0.2.1",
        "user_agent": "Firefox",
    }  # fmt: skip
    prefixes = sorted(path.name[: -len("_subject.txt")] for path in TEMPLATES.glob("*_subject.txt"))
    assert len(prefixes) == 13
    with schema_context(mission_a.schema_name):
        for prefix in prefixes:
            read = {}
            for language in ("en", "tr"):
                with translation.override(language):
                    subject = render_to_string(f"account/email/{prefix}_subject.txt", context)
                    body = render_to_string(
                        f"account/email/{prefix}_message.txt", context, request=request
                    )
                read[language] = (subject.strip(), body)
                assert body.startswith("Merhaba," if language == "tr" else "Hello,"), prefix
                assert SIGNATURE[language] in body, prefix
            # then each names the service and is translated, subject and body alike
            assert "consular e-services" in read["en"][0], prefix
            assert "onsolosluk e-hizmetleri" in read["tr"][0], prefix
            assert read["en"][1] != read["tr"][1], prefix
