"""The passport pages as a citizen and as the mission's staff use them, through the client:
what each sees (rendered text), what a stranger gets (404), and bad input (4xx, nothing
changed)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from appointments.models import Booking, Service
from consulate.kernel.accounts.models import User
from missions.models import Mission
from passports.models import Application, ApplicationStatus, FingerprintCapture, Photo
from tests.appointments.conftest import first_free_slot
from tests.appointments.factories import (
    build_catalogue,
    visit_page_costs_the_same_for_more_days,
    visit_page_reaches_every_day,
)
from tests.appointments.test_emails import reads
from tests.appointments.test_visit_recorded import (
    EAST,
    PASSPORT,
    WEST,
    _at,
    _booked,
    _booking,
    _clock_set,
    _mission_in,
    _record,
)
from tests.conftest import (
    MODEL_BACKEND,
    error_summary,
    error_summary_lines,
    host_client,
    make_staff,
    text_of,
    texts_of,
)
from tests.factories import UserFactory
from tests.fees.factories import seed_fee_reference
from tests.missions.test_tenant_isolation import login_with_second_factor
from tests.passports.factories import (
    VALUES,
    application_biometrics_taken,
    application_paid,
    application_recommended,
    national_id,
)
from tests.passports.permission_cases import _dispatched, _ready
from tests.passports.photos import photo_bytes, spec_vary

pytestmark = pytest.mark.django_db

# ASCII digits as a Japanese or Chinese keyboard types them: "１２３"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _citizen(client):  # type: ignore[no-untyped-def]
    user = UserFactory()
    client.force_login(user, backend=MODEL_BACKEND)
    return user


def test_a_citizen_applies_through_the_pages(client_a, mission_a):
    # given a signed-in citizen and the fee schedule
    seed_fee_reference()
    user = _citizen(client_a)
    # when they start a renewal
    response = client_a.post("/passports/", {"kind": "renewal"})
    assert response.status_code == 302
    with schema_context(mission_a.schema_name):
        application = Application.objects.get(user_id=user.pk)
    edit = f"/passports/{application.reference}/edit/"
    assert response["Location"] == edit
    # and upload a photo whose face is too small first
    bad = client_a.post(
        f"/passports/{application.reference}/photo/",
        {"photo": SimpleUploadedFile("me.jpg", photo_bytes(spec_vary(head_fraction=0.4)))},
    )
    # then it is refused with the reason on the page
    assert bad.status_code == 400
    assert "face" in bad.content.decode().lower()
    # when they upload a good one and fill the form with a wrong phone
    good = client_a.post(
        f"/passports/{application.reference}/photo/",
        {"photo": SimpleUploadedFile("me.png", photo_bytes())},
    )
    assert good.status_code == 302
    form = {**VALUES, "national_id": national_id(), "phone": "call me"}
    wrong = client_a.post(edit, {**form, "submit": "1"})
    assert wrong.status_code == 400
    assert "country code" in wrong.content.decode()
    # then after correcting it, it is submitted
    done = client_a.post(edit, {**form, "phone": "+49 30 555 0101", "submit": "1"})
    assert done.status_code == 302
    page = client_a.get(f"/passports/{application.reference}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Submitted" in texts_of(html, "span", **{"class": "timeline-label"})
    assert "Pay the fee" in html
    assert "Book your visit" in html
    with schema_context(mission_a.schema_name):
        application.refresh_from_db()
        assert application.status == ApplicationStatus.SUBMITTED


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "Use at most 500 characters."), ("tr", "En fazla 500 karakter kullanın.")],
)
def test_a_field_refused_says_why_once(client_a, mission_a, language, message):
    # given a draft
    _citizen(client_a)
    client_a.post("/passports/", {"kind": "first"})
    with schema_context(mission_a.schema_name):
        application = Application.objects.get()
    # when an address longer than the form's own limit is sent (a browser would stop at 500)
    edit = f"/passports/{application.reference}/edit/"
    response = client_a.post(edit, {"address": "B" * 3000}, HTTP_ACCEPT_LANGUAGE=language)
    # then the field carries the service's message alone, not the form's beside it
    assert response.status_code == 400
    said = text_of(response.content, "span", id="id_address-message")
    assert said == message
    # and the form's error summary names it at the top, linked to the field, with no banner
    # repeating it
    [(link, text)] = error_summary(response.content.decode())
    assert (link, text.endswith(f": {message}")) == ("#id_address", True)
    assert not texts_of(response.content, "li", class_="message error")
    with schema_context(mission_a.schema_name):
        application.refresh_from_db()
        assert application.address == ""


@pytest.mark.parametrize(
    ("language", "error"),
    [
        ("en", "Not saved: something went wrong on our side."),
        ("tr", "Kaydedilmedi: bizim tarafımızda bir sorun oldu."),
    ],
)
def test_the_draft_page_gives_the_shared_autosave_what_it_reads(
    client_a, mission_a, language, error
):
    # given a draft
    _citizen(client_a)
    client_a.post("/passports/", {"kind": "first"})
    with schema_context(mission_a.schema_name):
        application = Application.objects.get()
    # when its page is opened
    html = client_a.get(
        f"/passports/{application.reference}/edit/", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    # then it loads the one autosave script (the visa steps' too), names its still-needed list
    # on the form, and its status line has the server error's message in the reader's language
    assert "/static/consulate/autosave.js" in html
    assert "passports/autosave.js" not in html
    assert 'data-autosave-missing="missing"' in html
    assert 'id="missing"' in html
    assert re.search(r'id="autosave-status"[^>]*data-error="' + re.escape(error), html)


def test_autosave_keeps_valid_fields_and_answers_errors(client_a, mission_a):
    user = _citizen(client_a)
    client_a.post("/passports/", {"kind": "first"})
    with schema_context(mission_a.schema_name):
        application = Application.objects.get(user_id=user.pk)
    response = client_a.post(
        f"/passports/{application.reference}/autosave/",
        {"surname": "Şahin", "height_cm": "9000"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["saved"] == ["surname"]
    assert "height_cm" in body["errors"]
    with schema_context(mission_a.schema_name):
        application.refresh_from_db()
        assert application.surname == "Şahin"
        assert application.height_cm is None


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "This national ID number is not valid: check each digit against the ID card."),
        ("tr", "Bu kimlik numarası geçerli değil: her rakamı kimlik kartıyla karşılaştırın."),
    ],
)
def test_a_national_id_with_a_wrong_check_digit_is_refused_in_the_readers_language(
    client_a, mission_a, language, message
):
    # given a citizen's draft
    user = _citizen(client_a)
    client_a.post("/passports/", {"kind": "first"})
    with schema_context(mission_a.schema_name):
        application = Application.objects.get(user_id=user.pk)
    good = national_id()
    slip = good[:-1] + str((int(good[-1]) + 1) % 10)  # the last digit mistyped
    # when the form is saved with the slip, and the autosave sends it
    page = client_a.post(
        f"/passports/{application.reference}/edit/",
        {**VALUES, "national_id": slip},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    autosave = client_a.post(
        f"/passports/{application.reference}/autosave/",
        {"national_id": slip},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    # then both say why beside the field, in the reader's language, and nothing is kept
    assert page.status_code == 400
    assert text_of(page.content, "span", id="id_national_id-message") == message
    assert autosave.status_code == 400
    assert autosave.json()["errors"]["national_id"] == message
    with schema_context(mission_a.schema_name):
        assert Application.objects.get(pk=application.pk).national_id == ""
    # and the number as printed on the card (with its spaces) is kept
    spaced = f"{good[:3]} {good[3:7]} {good[7:]}"
    saved = client_a.post(f"/passports/{application.reference}/autosave/", {"national_id": spaced})
    assert saved.status_code == 200
    with schema_context(mission_a.schema_name):
        assert Application.objects.get(pk=application.pk).national_id == good


@pytest.mark.parametrize(
    ("value", "language", "message"),
    [
        ("1990-02-31", "en", "February 1990 has 28 days: check the day."),
        ("1990-02-31", "tr", "Şubat 1990 ayında 28 gün var: günü kontrol edin."),
        ("1992-02-30", "en", "February 1992 has 29 days: check the day."),
        ("1990-13-01", "en", "There is no month 13: a month is 01 to 12."),
        ("1990-13-01", "tr", "13 diye bir ay yok: ay 01 ile 12 arasındadır."),
        ("31.02.1990", "tr", "Tarihi YYYY-AA-GG biçiminde girin."),
    ],
)
def test_a_day_that_does_not_exist_is_refused_as_such_not_as_a_format(
    client_a, mission_a, value, language, message
):
    # given a citizen's draft
    user = _citizen(client_a)
    client_a.post("/passports/", {"kind": "first"})
    with schema_context(mission_a.schema_name):
        application = Application.objects.get(user_id=user.pk)
    # when a date of birth that no calendar has is saved, by the form and by the autosave
    page = client_a.post(
        f"/passports/{application.reference}/edit/",
        {**VALUES, "birth_date": value},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    autosave = client_a.post(
        f"/passports/{application.reference}/autosave/",
        {"birth_date": value},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    # then both say what is wrong with it beside the field, and nothing is kept
    assert page.status_code == autosave.status_code == 400
    assert text_of(page.content, "span", id="id_birth_date-message") == message
    assert autosave.json()["errors"]["birth_date"] == message
    with schema_context(mission_a.schema_name):
        assert Application.objects.get(pk=application.pk).birth_date is None


def test_another_citizens_application_is_not_found(client_a, mission_a):
    owner = _citizen(client_a)
    client_a.post("/passports/", {"kind": "first"})
    with schema_context(mission_a.schema_name):
        application = Application.objects.get(user_id=owner.pk)
    _citizen(client_a)  # someone else signs in on the same browser
    for path in ("", "edit/", "photo.jpg", "visit/"):
        assert client_a.get(f"/passports/{application.reference}/{path}").status_code == 404
    assert (
        client_a.post(f"/passports/{application.reference}/autosave/", {"surname": "X"}).status_code
        == 404
    )
    with schema_context(mission_a.schema_name):
        assert Application.objects.get(pk=application.pk).surname == ""


def test_a_photo_that_is_not_an_image_is_refused(client_a, mission_a):
    user = _citizen(client_a)
    client_a.post("/passports/", {"kind": "first"})
    with schema_context(mission_a.schema_name):
        application = Application.objects.get(user_id=user.pk)
    response = client_a.post(
        f"/passports/{application.reference}/photo/",
        {"photo": SimpleUploadedFile("photo.jpg", b"MZ\x90\x00" + b"\x00" * 2000)},
    )
    assert response.status_code == 400
    with schema_context(mission_a.schema_name):
        assert not Photo.objects.exists()


def test_the_officer_and_the_consul_work_a_case_through_the_pages(client_a, mission_a):
    # given a recommended case
    with schema_context(mission_a.schema_name):
        application = application_recommended(mission_a)
    consul = make_staff(mission_a, "consul")
    login_with_second_factor(client_a, consul)
    # when the consul opens the queue and the case
    queue = client_a.get("/staff/passports/")
    assert application.reference in queue.content.decode()
    case = client_a.get(f"/staff/passports/{application.reference}/")
    html = case.content.decode()
    assert "Yılmaz" in html
    assert "Approve" in html
    # and approves
    response = client_a.post(
        f"/staff/passports/{application.reference}/decide/", {"decision": "approve", "reason": ""}
    )
    assert response.status_code == 302
    with schema_context(mission_a.schema_name):
        application.refresh_from_db()
        assert application.status == ApplicationStatus.APPROVED


def test_the_recommender_sees_no_decision_buttons(client_a, mission_a):
    officer = make_staff(mission_a, "officer")
    from tests.factories import MembershipFactory

    MembershipFactory(user=officer, mission=mission_a, role="consul")
    with schema_context(mission_a.schema_name):
        application = application_recommended(mission_a, officer=officer)
    login_with_second_factor(client_a, officer)
    html = client_a.get(f"/staff/passports/{application.reference}/").content.decode()
    assert "another consul decides it" in html
    response = client_a.post(
        f"/staff/passports/{application.reference}/decide/", {"decision": "approve", "reason": ""}
    )
    assert response.status_code == 400
    assert "another consul decides it" in response.content.decode()
    with schema_context(mission_a.schema_name):
        application.refresh_from_db()
        assert application.status == ApplicationStatus.RECOMMENDED


def test_another_missions_staff_find_nothing(client_b, mission_a, mission_b):
    with schema_context(mission_a.schema_name):
        application = application_recommended(mission_a)
    login_with_second_factor(client_b, make_staff(mission_b, "consul"))
    assert client_b.get(f"/staff/passports/{application.reference}/").status_code == 404


def test_the_citizen_reads_the_timeline_in_turkish(client_a, mission_a):
    with schema_context(mission_a.schema_name):
        application = application_recommended(mission_a)
    user = User.objects.get(pk=application.user_id)
    client_a.force_login(user, backend=MODEL_BACKEND)
    html = client_a.get(
        f"/passports/{application.reference}/", HTTP_ACCEPT_LANGUAGE="tr"
    ).content.decode()
    assert text_of(html, "h1") == "Yenileme"
    labels = texts_of(html, "span", **{"class": "timeline-label"})
    assert "Biyometrik veriler alındı" in labels


SPECIMEN = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)


def test_the_counter_checks_an_mrz_and_the_lost_register(client_a, mission_a):
    officer = make_staff(mission_a, "officer")
    login_with_second_factor(client_a, officer)
    # a good MRZ
    good = client_a.post(
        "/staff/passports/mrz-check/", {"line1": SPECIMEN[0], "line2": SPECIMEN[1]}
    )
    assert good.status_code == 200
    assert "The MRZ is valid." in good.content.decode()
    # one digit of the birth date changed
    bad = client_a.post(
        "/staff/passports/mrz-check/",
        {"line1": SPECIMEN[0], "line2": SPECIMEN[1].replace("7408122", "7408132")},
    )
    assert bad.status_code == 400
    assert "check digit" in bad.content.decode()
    # the same document reported stolen at the counter
    client_a.post(
        "/staff/passports/report/",
        {"kind": "stolen", "document_number": "L898902C3", "circumstances": ""},
    )
    reported = client_a.post(
        "/staff/passports/mrz-check/", {"line1": SPECIMEN[0], "line2": SPECIMEN[1]}
    )
    assert "not valid for travel" in reported.content.decode()
    # NUL bytes and huge input are refused without a 500
    nul = client_a.post("/staff/passports/mrz-check/", {"line1": "P<\x00", "line2": "x" * 5000})
    assert nul.status_code == 400


def test_a_citizen_cannot_open_the_staff_pages(client_a, mission_a):
    _citizen(client_a)
    for path in ("/staff/passports/", "/staff/passports/mrz-check/", "/staff/passports/report/"):
        assert client_a.get(path).status_code == 404


@pytest.mark.parametrize(
    ("path", "summary"),
    [("/passports/", False), ("/passports/report/", False), ("/etd/", True),
     ("/staff/passports/mrz-check/", False), ("/staff/passports/report/", False),
     ("/staff/etd/request/", True), ("/fees/counter/", True)],
)  # fmt: skip
def test_an_empty_form_sent_is_a_400_with_a_message(client_a, mission_a, path, summary):
    user = make_staff(mission_a, "officer") if "/staff/" in path or "/fees/" in path else None
    if user is not None:
        login_with_second_factor(client_a, user)
    else:
        _citizen(client_a)
    response = client_a.post(path, {})
    # then a 400 whose page says what is wrong at the top: each field's reason in the form's
    # error summary, with no banner repeating the first, or (a form not yet moved to the
    # summary, docs/development.md) the first field's reason as the page's message
    assert response.status_code == 400
    banner = texts_of(response.content, "li", **{"class": "message error"})
    if summary:
        assert error_summary_lines(response.content)
        assert not banner
    else:
        assert banner


def test_the_account_lists_new_messages_until_they_are_read(client_a, mission_a):
    # given a citizen whose application was submitted (a message and an e-mail)
    with schema_context(mission_a.schema_name):
        from tests.passports.factories import application_submitted

        application = application_submitted()
    client_a.force_login(User.objects.get(pk=application.user_id), backend=MODEL_BACKEND)
    # then their list says there is one new message
    assert "1 new message" in client_a.get("/passports/").content.decode()
    # and once the application's page is read, none
    client_a.get(f"/passports/{application.reference}/")
    assert "new message" not in client_a.get("/passports/").content.decode()


@pytest.mark.parametrize(
    ("language", "words"), [("en", "Back to your application"), ("tr", "Başvurunuza dönün")]
)
def test_the_fee_page_leads_back_to_the_application(client_a, mission_a, language, words):
    # given a submitted application, whose fee is paid from the link in its e-mail
    from fees.models import Assessment

    with schema_context(mission_a.schema_name):
        from tests.passports.factories import application_submitted

        application = application_submitted()
        token = Assessment.objects.get(pk=application.assessment_id).pay_token
    # when the payer opens the pay page
    html = client_a.get(f"/pay/{token}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    # then it links back to the application's own page
    assert f'<a href="/passports/{application.reference}/">{words}</a>' in html


# --- a step sent twice ------------------------------------------------------------------------

RECORDED = {
    "en": "This was recorded already. Here is where the case stands.",
    "tr": "Bu zaten kaydedildi. Dosyanın şu anki durumu aşağıda.",
}


def _officer_sends(client, mission, role: str):  # type: ignore[no-untyped-def]
    user = make_staff(mission, role)
    login_with_second_factor(client, user)
    return user


def _told_calmly(client, response, case_page: str, language: str) -> None:  # type: ignore[no-untyped-def]
    """`response` leads to `case_page`, which reads the calm notice and no refusal."""
    assert response.status_code == 302
    assert response["Location"] == case_page
    page = client.get(case_page, HTTP_ACCEPT_LANGUAGE=language).content
    assert texts_of(page, "li", class_="message info") == [RECORDED[language]]
    assert not texts_of(page, "li", class_="message error")


@pytest.mark.parametrize("language", ["en", "tr"])
@pytest.mark.parametrize("stale", [False, True], ids=["after", "while-the-first-commits"])
def test_a_second_click_on_biometrics_shows_the_case_as_it_now_stands(
    client_a, mission_a, monkeypatch, language, stale
):
    # given a paid case whose visit the officer records with "Capture fingerprints"
    with schema_context(mission_a.schema_name):
        application = application_paid(mission_a)
        before = Application.objects.get(pk=application.pk)  # as a slow second click read it
    _officer_sends(client_a, mission_a, "officer")
    path = f"/staff/passports/{application.reference}/biometrics/"
    assert client_a.post(path, {"identity_confirmed": "on"}).status_code == 302
    with schema_context(mission_a.schema_name):
        rows = application.history.count()
    # when the same form comes again (having read the case before the first one committed)
    with monkeypatch.context() as patched:
        if stale:
            patched.setattr("passports.views._case", lambda request, reference, action: before)
        again = client_a.post(path, {"identity_confirmed": "on"}, HTTP_ACCEPT_LANGUAGE=language)
    # then it leads to the case as it stands, saying it was recorded already
    _told_calmly(client_a, again, f"/staff/passports/{application.reference}/", language)
    # and nothing was captured or recorded twice
    with schema_context(mission_a.schema_name):
        assert application.history.count() == rows
        assert FingerprintCapture.objects.filter(application_id=application.pk).count() == 2
        assert Application.objects.get(pk=application.pk).status == "biometrics_taken"


@dataclasses.dataclass(frozen=True)
class StaffStep:
    name: str
    prepare: Callable[[Mission], Application]  # a case due for the step
    role: str
    path: str
    data: dict[str, str]
    done: str  # the case's status once the step is recorded

    def __str__(self) -> str:
        return self.name


STAFF_STEPS = [
    StaffStep("recommend", application_biometrics_taken, "officer", "recommend/",
              {"recommendation": "issue", "reason": ""}, "recommended"),
    StaffStep("approve", application_recommended, "consul", "decide/",
              {"decision": "approve", "reason": ""}, "approved"),
    StaffStep("refuse", application_recommended, "consul", "decide/",
              {"decision": "refuse", "reason": "The photo is not of the applicant."}, "refused"),
    StaffStep("send-back", application_recommended, "consul", "decide/",
              {"decision": "return", "reason": "Compare the photo again."}, "biometrics_taken"),
    StaffStep("arrival", _dispatched, "officer", "arrival/", {}, "ready"),
    StaffStep("hand-over", _ready, "officer", "collect/",
              {"identity_confirmed": "on", "old_document_cancelled": "on", "signed_for": "on"},
              "collected"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("step", "language"),
    [(step, ("en", "tr")[n % 2]) for n, step in enumerate(STAFF_STEPS)],
    ids=[f"{step}-{('en', 'tr')[n % 2]}" for n, step in enumerate(STAFF_STEPS)],
)
def test_every_staff_step_sent_twice_shows_the_case_as_it_now_stands(
    client_a, mission_a, step, language
):
    # given a case due for the step, which its officer or consul records once
    with schema_context(mission_a.schema_name):
        application = step.prepare(mission_a)
    _officer_sends(client_a, mission_a, step.role)
    path = f"/staff/passports/{application.reference}/{step.path}"
    assert client_a.post(path, step.data).status_code == 302
    with schema_context(mission_a.schema_name):
        rows = application.history.count()
    # when the same form comes again
    again = client_a.post(path, step.data, HTTP_ACCEPT_LANGUAGE=language)
    # then it leads to the case as it stands, saying it was recorded already; nothing twice
    _told_calmly(client_a, again, f"/staff/passports/{application.reference}/", language)
    with schema_context(mission_a.schema_name):
        assert application.history.count() == rows
        assert Application.objects.get(pk=application.pk).status == step.done


@pytest.mark.parametrize(
    ("step", "language", "refusal"),
    [
        (STAFF_STEPS[-1], "en", "This passport is not ready for collection."),
        (STAFF_STEPS[-2], "tr", "Yalnızca merkezin basıp gönderdiği bir pasaport ulaşabilir."),
        (STAFF_STEPS[1], "en", "“Biometrics taken” and cannot become “Approved”"),
    ],
    ids=["hand-over", "arrival", "approve"],
)
def test_a_step_the_case_never_reached_is_still_refused(
    client_a, mission_a, step, language, refusal
):
    # given a case the step is not due for: its biometrics just taken
    with schema_context(mission_a.schema_name):
        application = application_biometrics_taken(mission_a)
        rows = application.history.count()
    _officer_sends(client_a, mission_a, step.role)
    # when the step's form is sent for it (a forged or mistaken request)
    response = client_a.post(
        f"/staff/passports/{application.reference}/{step.path}",
        step.data,
        HTTP_ACCEPT_LANGUAGE=language,
    )
    # then it is refused, saying why in the reader's language, and nothing changes
    assert response.status_code == 400
    assert refusal in text_of(response.content, "li", class_="message error")
    assert not texts_of(response.content, "li", class_="message info")
    with schema_context(mission_a.schema_name):
        assert application.history.count() == rows


def test_another_consuls_decision_is_not_taken_for_ones_own(client_a, mission_a):
    # given a recommended case which one consul approves
    with schema_context(mission_a.schema_name):
        application = application_recommended(mission_a)
    path = f"/staff/passports/{application.reference}/decide/"
    _officer_sends(client_a, mission_a, "consul")
    assert client_a.post(path, {"decision": "approve", "reason": ""}).status_code == 302
    # when another consul, on the case as it was, refuses it
    _officer_sends(client_a, mission_a, "consul")
    response = client_a.post(path, {"decision": "refuse", "reason": "Forged."})
    # then the refusal says what the case is: it was not theirs to find recorded
    assert response.status_code == 400
    said = text_of(response.content, "li", class_="message error")
    assert said == "This is “Approved” and cannot become “Refused”."
    with schema_context(mission_a.schema_name):
        assert Application.objects.get(pk=application.pk).status == "approved"


# --- the visit, once recorded -----------------------------------------------------------------

NO_OTHER_VISIT = {
    "en": "Your visit was recorded already: no other visit is needed.",
    "tr": "Ziyaretiniz zaten kaydedildi: başka bir ziyarete gerek yok.",
}


@pytest.mark.parametrize(
    ("zone", "clock", "language"),
    [(*EAST, "tr"), (*WEST, "en"), (*EAST, "en"), (*WEST, "tr")],
    ids=["tokyo-tr", "new_york-en", "tokyo-en", "new_york-tr"],
)
def test_after_an_early_visit_the_application_says_when_and_offers_no_times(
    in_mission_a, mission_a, monkeypatch, zone, clock, language
):
    # given a passport application whose visit was booked, at a mission east or west of UTC,
    # and recorded the day before the booking (which the visit released), at an hour when
    # UTC's date is another
    mission = _mission_in(mission_a, zone)
    application = _booked(PASSPORT, mission, language=language)
    booking = _booking(application)
    visited = _clock_set(monkeypatch, _at(booking, clock, days_before=1, zone=mission.zone))
    _record(PASSPORT, application, make_staff(mission, "officer"))
    citizen = User.objects.get(pk=application.user_id)
    client = host_client(mission.host)
    client.force_login(citizen, backend=MODEL_BACKEND)
    # when the citizen opens the application
    page = client.get(f"/passports/{application.reference}/", HTTP_ACCEPT_LANGUAGE=language)
    # then it says on which day and at what time, mission time with the zone named, the visit
    # was recorded, and offers no visit to book
    when = reads(visited, zone, language)
    said = text_of(page.content, "p", id="visit-recorded")
    assert said == (
        f"Ziyaretiniz {when} tarihinde kaydedildi."
        if language == "tr"
        else f"Your visit was recorded on {when}."
    )
    assert f"/passports/{application.reference}/visit/" not in page.content.decode()
    # when they open the visit page, or send a time from it (a page left open)
    free = first_free_slot(Service.objects.get(purpose="passport"))
    visit = f"/passports/{application.reference}/visit/"
    for method, data in (("get", {}), ("post", {"slot": free.pk})):
        answer = getattr(client, method)(visit, data, HTTP_ACCEPT_LANGUAGE=language)
        # then no time is offered or booked: the application's page says no visit is needed
        assert answer.status_code == 302
        assert answer["Location"] == f"/passports/{application.reference}/"
        shown = client.get(answer["Location"], HTTP_ACCEPT_LANGUAGE=language).content
        assert texts_of(shown, "li", class_="message info") == [NO_OTHER_VISIT[language]]
    application.refresh_from_db()
    assert application.booking_id == booking.pk
    assert not Booking.objects.filter(user_id=citizen.pk).exclude(pk=booking.pk).exists()


# --- the visit's times -----------------------------------------------------------------------

BOOKED = {
    "en": "Your visit is booked. The confirmation is in your e-mail.",
    "tr": "Ziyaret randevunuz alındı. Onay e-postanızda.",
}
BOOKED_ALREADY = {
    "en": "Your visit is booked already; you can move it from the booking's page.",
    "tr": "Ziyaretiniz zaten planlandı; randevu sayfasından başka bir zamana alabilirsiniz.",
}


@pytest.mark.parametrize(
    ("zone", "language"),
    [(EAST[0], "tr"), (WEST[0], "en")],
    ids=["tokyo-tr", "new_york-en"],
)
def test_the_visit_page_reaches_every_day_of_the_horizon(in_mission_a, mission_a, zone, language):
    # given a mission east or west of UTC whose passport service has free times on 14 days,
    # more than the first 24 times cover (6 a day), and a submitted application
    mission = _mission_in(mission_a, zone)
    service = build_catalogue(**PASSPORT.service, days=14)
    application = PASSPORT.ready(mission, True)
    client = host_client(mission.host)
    client.force_login(User.objects.get(pk=application.user_id), backend=MODEL_BACKEND)
    visit = f"/passports/{application.reference}/visit/"
    last = visit_page_reaches_every_day(
        client, visit, service=service, mission=mission, language=language
    )
    # and the time chosen there is booked
    answer = client.post(visit, {"slot": last[-1].pk}, HTTP_ACCEPT_LANGUAGE=language)
    assert answer.status_code == 302
    page = client.get(answer["Location"], HTTP_ACCEPT_LANGUAGE=language).content
    assert BOOKED[language] in texts_of(page, "li", class_="message success")
    application.refresh_from_db()
    assert Booking.objects.get(pk=application.booking_id).slot_id == last[-1].pk
    # and once booked, the visit page offers no more times (it did, until a time was tapped):
    # it leads to the application, which shows the visit, saying it is moved from its page
    for method, data in (("get", {}), ("post", {"slot": last[0].pk})):
        again = getattr(client, method)(visit, data, HTTP_ACCEPT_LANGUAGE=language)
        assert again.status_code == 302
        assert again["Location"] == f"/passports/{application.reference}/"
        shown = client.get(again["Location"], HTTP_ACCEPT_LANGUAGE=language).content
        assert texts_of(shown, "li", class_="message info") == [BOOKED_ALREADY[language]]
        assert "appointments/booking/" in shown.decode()
    assert Booking.objects.filter(user_id=application.user_id).count() == 1


def test_the_visit_page_costs_the_same_whatever_the_days_offered(in_mission_a, mission_a):
    # given a submitted application and a passport service with times on 3 days
    service = build_catalogue(**PASSPORT.service, days=3)
    application = PASSPORT.ready(mission_a, True)
    client = host_client(mission_a.host)
    client.force_login(User.objects.get(pk=application.user_id), backend=MODEL_BACKEND)
    visit = f"/passports/{application.reference}/visit/"
    visit_page_costs_the_same_for_more_days(client, visit, service)


# --- the national ID number -------------------------------------------------------------------


def _draft_page(client, mission):  # type: ignore[no-untyped-def]
    """A citizen's new draft: its edit page's address."""
    user = _citizen(client)
    client.post("/passports/", {"kind": "first"})
    with schema_context(mission.schema_name):
        return f"/passports/{Application.objects.get(user_id=user.pk).reference}/edit/"


def _tag(html: str, tag: str, name: str) -> dict[str, str]:
    """The attributes of the `tag` element named `name` on the page."""
    found = re.search(rf'<{tag}\b[^>]*\bname="{name}"[^>]*>', html)
    assert found, f"no <{tag} name={name}>"
    return dict(re.findall(r'([\w-]+)="([^"]*)"', found.group(0)))


# The national ID field's hint by issuing state and language, and the keyboard it asks for.
NATIONAL_ID_HINTS = {
    "TUR": (
        {
            "en": "11 digits, on the front of your ID card.",
            "tr": "11 haneli numara; kimlik kartınızın ön yüzündedir.",
        },
        "numeric",
    ),
    "D": (
        {
            "en": "As on your national ID card: 5 to 20 letters and digits.",
            "tr": "Kimlik kartınızdaki gibi: 5 ile 20 arası harf ve rakam.",
        },
        "text",
    ),
}


@pytest.mark.parametrize("language", ["en", "tr"])
@pytest.mark.parametrize("state", sorted(NATIONAL_ID_HINTS))
def test_the_national_id_field_says_what_to_type_and_asks_for_digits(
    client_a, mission_a, settings, state, language
):
    # given the issuing state's number: 11 digits for TUR, letters and digits elsewhere
    settings.CONSULATE_ISSUING_STATE = state
    hints, keyboard = NATIONAL_ID_HINTS[state]
    hint = hints[language]
    edit = _draft_page(client_a, mission_a)
    # when the citizen opens the draft
    html = client_a.get(edit, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    # then a hint under the field says what to enter, linked to the field for screen readers
    field = _tag(html, "input", "national_id")
    assert text_of(html, "span", id="id_national_id_helptext") == hint
    assert "id_national_id_helptext" in field["aria-describedby"].split()
    # and a phone shows its numeric keyboard for a number of digits; nothing is suggested
    assert field["inputmode"] == keyboard
    assert field["autocomplete"] == "off"
    # as every other field's hint is linked to its field
    assert "id_surname_helptext" in _tag(html, "input", "surname")["aria-describedby"].split()
    assert texts_of(html, "span", id="id_surname_helptext")


@pytest.mark.parametrize(
    ("typed", "language", "message"),
    [
        ("12345", "en", "Enter the national ID number: 11 digits."),
        ("1234567890A", "tr", "Kimlik numarasını girin: 11 rakam."),
        ("123456789012", "tr", "Kimlik numarasını girin: 11 rakam."),
    ],
    ids=["short-en", "letter-tr", "long-tr"],
)
def test_a_turkish_national_id_of_the_wrong_shape_is_told_11_digits(
    client_a, mission_a, typed, language, message
):
    # given a draft (the issuing state is TUR)
    edit = _draft_page(client_a, mission_a)
    # when a number of the wrong length, or with a letter, is saved
    page = client_a.post(edit, {"national_id": typed}, HTTP_ACCEPT_LANGUAGE=language)
    # then the message beside the field names the rule, 11 digits; nothing is kept
    assert page.status_code == 400
    assert text_of(page.content, "span", id="id_national_id-message") == message
    with schema_context(mission_a.schema_name):
        assert Application.objects.get().national_id == ""


SUMMARY_NATIONAL_ID = {
    "en": "National ID number: Enter the national ID number: 11 digits.",
    "tr": "T.C. kimlik numarası: Kimlik numarasını girin: 11 rakam.",
}


@pytest.mark.parametrize("language", ["en", "tr"])
def test_the_still_needed_summary_gives_a_refused_values_reason_not_needed(
    client_a, mission_a, language
):
    # given a draft
    edit = _draft_page(client_a, mission_a)
    reference = edit.split("/")[2]
    # when a national ID of the wrong shape and a day that does not exist are saved
    sent = {"national_id": "12345", "birth_date": "2001-02-30"}
    page = client_a.post(edit, sent, HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 400
    # then the summary says, for each, what the field says, not that it is needed
    summary = texts_of(page.content, "li", **{"data-missing": "national_id"})
    assert summary == [SUMMARY_NATIONAL_ID[language]]
    beside = text_of(page.content, "span", id="id_birth_date-message")
    [birth] = texts_of(page.content, "li", **{"data-missing": "birth_date"})
    assert birth.endswith(f": {beside}")
    needed = {"en": "This is needed.", "tr": "Bu gerekli."}[language]
    assert needed not in birth
    # and the autosave's list says the same
    autosave = client_a.post(
        f"/passports/{reference}/autosave/", sent, HTTP_ACCEPT_LANGUAGE=language
    ).json()
    assert autosave["missing"]["national_id"] == SUMMARY_NATIONAL_ID[language].split(": ", 1)[1]
    assert autosave["missing"]["birth_date"] == beside
    # when a good number is kept and a wrong one typed over it, the summary names it too
    client_a.post(edit, {"national_id": national_id()}, HTTP_ACCEPT_LANGUAGE=language)
    page = client_a.post(edit, {"national_id": "12345"}, HTTP_ACCEPT_LANGUAGE=language)
    summary = texts_of(page.content, "li", **{"data-missing": "national_id"})
    assert summary == [SUMMARY_NATIONAL_ID[language]]


@pytest.mark.parametrize(
    "write",
    [
        lambda number: number.translate(FULL_WIDTH),
        lambda number: f"{number[:3]}ー{number[3:7]}ー{number[7:]}".translate(FULL_WIDTH),
        lambda number: f"{number[:3]}\u3000{number[3:7]}－{number[7:]}".translate(FULL_WIDTH),
        lambda number: f"{number[:3]}–{number[3:7]}‐{number[7:]}",
    ],
    ids=["full-width", "long-vowel-marks", "ideographic-space", "dashes"],
)
def test_a_national_id_typed_on_a_japanese_or_chinese_keyboard_is_kept(client_a, mission_a, write):
    # given a draft, and a good number typed in full-width digits, with what people type between
    # its groups
    edit = _draft_page(client_a, mission_a)
    good = national_id()
    # when the form is saved, and the autosave sends it too
    page = client_a.post(edit, {"national_id": write(good)})
    autosave = client_a.post(edit.replace("/edit/", "/autosave/"), {"national_id": write(good)})
    # then it is kept as the number itself, and the page shows it so
    assert page.status_code == 302
    assert autosave.status_code == 200
    with schema_context(mission_a.schema_name):
        assert Application.objects.get().national_id == good
    shown = _tag(client_a.get(edit).content.decode(), "input", "national_id")
    assert shown["value"] == good
