"""The applicant's visa pages through the client, on the mission's site: what the owner sees
(rendered text), what anyone else gets (404), bad input (4xx with the message, in English and
Turkish, nothing changed), and the legal clock read in the mission's zone, named."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import User
from missions.models import Mission
from tests.conftest import MODEL_BACKEND, error_summary, host_client, make_staff, text_of, texts_of
from tests.factories import UserFactory
from tests.visas.factories import (
    pdf_file,
    photo_file,
    reference_ensure,
    values_complete,
    visa_draft,
    visa_submitted,
)
from tests.visas.factories_casework import accept_all
from visas.models import FORM_ITEM, Upload, VisaApplication, VisaStatus
from visas.reference.models import VisaCategory
from visas.services import casework
from visas.services.application import STEP_FIELDS

pytestmark = pytest.mark.django_db

STEPS = ("identity", "travel", "host", "history", "means", "questions", "documents", "review")


def _sign_in(client, user=None):  # type: ignore[no-untyped-def]
    user = user or UserFactory()
    client.force_login(user, backend=MODEL_BACKEND)
    return user


def _owner_signs_in(client, application: VisaApplication) -> User:  # type: ignore[no-untyped-def]
    return _sign_in(client, User.objects.get(pk=application.user_id))


def _fresh(mission: Mission, application: VisaApplication) -> VisaApplication:
    with schema_context(mission.schema_name):
        return VisaApplication.objects.get(pk=application.pk)


def test_the_start_page_offers_each_category_with_what_it_needs(client_a, mission_a):
    with schema_context(mission_a.schema_name):
        reference_ensure()
    _sign_in(client_a)
    response = client_a.get("/visas/")
    html = response.content.decode()
    assert response.status_code == 200
    assert text_of(html, "h1") == "Visas"
    assert "Tourism" in html
    assert "A short visit as a tourist, up to 90 days." in html
    # the checklist preview of each category
    assert "Hotel booking or address of stay" in html
    assert "Is this your first visit?" in html
    # in Turkish
    html_tr = client_a.get("/visas/", HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert "Turizm" in html_tr
    assert "Bu ilk ziyaretiniz mi?" in html_tr


def test_the_pages_need_a_signed_in_person(client_a, mission_a):
    response = client_a.get("/visas/")
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_an_applicant_applies_through_the_pages(client_a, mission_a):
    # given a signed-in person and the categories
    with schema_context(mission_a.schema_name):
        reference_ensure()
        category = VisaCategory.objects.get(code="tourism")
        values = values_complete(category, mission_a.today())
    user = _sign_in(client_a)
    # when they start a tourist visa
    response = client_a.post("/visas/", {"category": "tourism"})
    assert response.status_code == 302
    with schema_context(mission_a.schema_name):
        application = VisaApplication.objects.get(user_id=user.pk)
    edit = f"/visas/{application.reference}/edit/"
    assert response["Location"] == edit + "identity/"
    # then the first step says where they are
    page = client_a.get(edit + "identity/").content.decode()
    assert text_of(page, "h1") == "Step 1 of 8 Identity and passport"
    assert 'aria-current="step"' in page
    # when they fill the identity with a wrong phone
    identity = {name: values[name] for name in (
        "surname", "given_names", "birth_date", "birth_place", "sex", "nationality",
        "passport_number", "passport_issuing_state", "passport_expires_on", "address", "phone",
        "occupation",
    )}  # fmt: skip
    wrong = client_a.post(edit + "identity/", {**identity, "phone": "call me", "next": "1"})
    # then it is refused with the message beside the field and in the summary, nothing saved
    assert wrong.status_code == 400
    html = wrong.content.decode()
    assert "country code" in text_of(html, "span", id="id_phone-message")
    assert 'href="#id_phone"' in html
    assert 'aria-describedby="id_phone-message id_phone-help"' in html
    assert _fresh(mission_a, application).surname == ""
    # when they correct it, they go on to the next step
    done = client_a.post(edit + "identity/", {**identity, "next": "1"})
    assert done.status_code == 302
    assert done["Location"] == edit + "travel/"
    for step, names in (
        ("travel", ("entry_date", "exit_date", "entries", "stay_address")),
        ("host", ("host_name", "host_address")),
        ("history", ("previous_visas", "previous_refusals")),
        ("means", ("means",)),
        ("questions", ("q_first_visit",)),
    ):
        response = client_a.post(edit + f"{step}/", {n: values[n] for n in names})
        assert response.status_code == 302, (step, response.content.decode()[:2000])
    # and add the documents
    with schema_context(mission_a.schema_name):
        from visas.services.application import application_category, category_items

        items = category_items(category=application_category(application=application))
    for item in items:
        if not item.required:
            continue
        data, name = (photo_file(), "me.jpg") if item.kind == "photo" else (pdf_file(), "d.pdf")
        response = client_a.post(
            f"/visas/{application.reference}/upload/{item.code}/",
            {"file": SimpleUploadedFile(name, data)},
        )
        assert response.status_code == 302, response.content.decode()[:3000]
    documents = client_a.get(edit + "documents/").content.decode()
    assert "File added" in documents
    # then the review shows their answers and submits
    review = client_a.get(edit + "review/").content.decode()
    assert "Smith" in review
    assert "Still needed" not in review
    sent = client_a.post(edit + "review/", {"submit": "1"})
    assert sent.status_code == 302
    assert _fresh(mission_a, application).status == VisaStatus.SUBMITTED
    status = client_a.get(f"/visas/{application.reference}/")
    html = status.content.decode()
    assert status.status_code == 200
    assert "Pay the fee online" in html
    assert "The mission is checking that your documents are all there and in order." in text_of(
        html, "p", **{"class": "waiting-for"}
    )
    assert "Submitted" in texts_of(html, "span", **{"class": "timeline-label"})


def test_the_review_names_what_is_missing_with_links_to_its_step(client_a, mission_a):
    application = visa_draft(mission_a, uploads=False, means=None)
    _owner_signs_in(client_a, application)
    response = client_a.post(f"/visas/{application.reference}/edit/review/", {"submit": "1"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Some of the application is missing." in html
    missing = text_of(html, "section", id="missing")
    assert "Means of support: This is needed." in missing
    assert "Passport photo: Add a photo that passes the checks." in missing
    assert f'href="/visas/{application.reference}/edit/means/"' in html
    assert f'href="/visas/{application.reference}/edit/documents/"' in html


@pytest.mark.parametrize("step", ["travel", "documents", "review"])
def test_each_steps_forms_post_to_its_path_and_no_fragment(client_a, mission_a, step):
    # an upload sends the applicant back to ".../documents/#item-<code>"; a form without an
    # action posted to that whole address, the browser kept "#item-…" through the redirect,
    # and every later page (the "sent" page too) opened scrolled to that item
    application = visa_draft(mission_a)
    _owner_signs_in(client_a, application)
    path = f"/visas/{application.reference}/edit/{step}/"
    html = client_a.get(path).content.decode()
    forms = [
        form
        for form in re.findall(r"<form [^>]*>", html)
        if 'method="post"' in form and "setlang" not in form and "logout" not in form
    ]
    assert forms
    for form in forms:
        action = re.search(r'action="([^"]*)"', form)
        assert action, form
        assert "#" not in action.group(1)
        assert action.group(1) != ""


@pytest.mark.parametrize(
    ("language", "value", "message"),
    [
        ("en", "AB12", "Enter the passport number: 6 to 9 letters and digits."),
        ("tr", "AB12", "Pasaport numarasını girin: 6 ile 9 arası harf ve rakam."),
        # a NUL byte is refused before any view (consulate.kernel.http)
        ("en", "AB\x001234567", "The request contains characters that are not allowed"),
        ("tr", "AB\x001234567", "İstek, izin verilmeyen karakterler içeriyor"),
        ("en", "X", "Enter the passport number: 6 to 9 letters and digits."),
    ],
)
def test_bad_input_is_answered_400_with_its_message(client_a, mission_a, language, value, message):
    application = visa_draft(mission_a, uploads=False)
    _owner_signs_in(client_a, application)
    before = _fresh(mission_a, application)
    response = client_a.post(
        f"/visas/{application.reference}/edit/identity/",
        {"passport_number": value, "surname": "Other"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    after = _fresh(mission_a, application)
    assert (after.surname, after.passport_number) == (before.surname, before.passport_number)


def test_huge_input_is_refused_not_a_server_error(client_a, mission_a):
    application = visa_draft(mission_a, uploads=False)
    _owner_signs_in(client_a, application)
    edit = f"/visas/{application.reference}/edit/identity/"
    long_name = client_a.post(edit, {"surname": "A" * 200_000})
    assert long_name.status_code == 400
    # said once, by the service: not also by the form's own length check
    said = text_of(long_name.content, "span", id="id_surname-message")
    assert said == "Use at most 100 characters."
    # a choice that is not one of the list: the service's message, not the form's beside it
    odd = client_a.post(edit, {"sex": "Z"})
    assert odd.status_code == 400
    assert text_of(odd.content, "span", id="id_sex-message") == "Choose one of the options."
    huge = client_a.post(edit, {"surname": "A" * 5_000_000})
    assert huge.status_code == 400
    many = client_a.post(
        f"/visas/{application.reference}/autosave/", {f"f{n}": "x" for n in range(5000)}
    )
    assert many.status_code == 400
    assert _fresh(mission_a, application).surname == "Smith"


def test_autosave_keeps_valid_fields_and_answers_errors(client_a, mission_a):
    application = visa_draft(mission_a, uploads=False)
    _owner_signs_in(client_a, application)
    response = client_a.post(
        f"/visas/{application.reference}/autosave/", {"surname": "Şahin", "nationality": "QQQ"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["saved"] == ["surname"]
    assert "nationality" in body["errors"]
    assert body["saved_at_local"].endswith("(Europe/Berlin)")
    after = _fresh(mission_a, application)
    assert after.surname == "Şahin"
    assert after.nationality == "USA"


def test_a_file_that_is_not_a_document_is_refused(client_a, mission_a):
    application = visa_draft(mission_a, uploads=False)
    _owner_signs_in(client_a, application)
    response = client_a.post(
        f"/visas/{application.reference}/upload/passport_copy/",
        {"file": SimpleUploadedFile("copy.pdf", b"MZ\x90\x00" + b"\x00" * 2000)},
    )
    assert response.status_code == 400
    assert 'href="#file-passport_copy"' in response.content.decode()
    no_file = client_a.post(f"/visas/{application.reference}/upload/passport_copy/", {})
    assert no_file.status_code == 400
    unknown = client_a.post(
        f"/visas/{application.reference}/upload/nonsense/",
        {"file": SimpleUploadedFile("copy.pdf", pdf_file())},
    )
    assert unknown.status_code == 400
    with schema_context(mission_a.schema_name):
        assert not Upload.objects.filter(application_id=application.pk).exists()


def test_every_page_renders_for_the_owner(client_a, mission_a):
    draft = visa_draft(mission_a)
    _owner_signs_in(client_a, draft)
    assert client_a.get("/visas/").status_code == 200
    for number, step in enumerate(STEPS, start=1):
        response = client_a.get(f"/visas/{draft.reference}/edit/{step}/")
        assert response.status_code == 200, step
        assert f"Step {number} of 8" in text_of(response.content.decode(), "h1")
    assert client_a.get(f"/visas/{draft.reference}/edit/nonsense/").status_code == 404
    # a draft's status page is its form
    assert client_a.get(f"/visas/{draft.reference}/").status_code == 302
    submitted = visa_submitted(mission_a)
    _owner_signs_in(client_a, submitted)
    assert client_a.get(f"/visas/{submitted.reference}/").status_code == 200
    # a submitted application's form is closed: back to its status page
    assert client_a.get(f"/visas/{submitted.reference}/edit/identity/").status_code == 302
    # the appointment before the file is complete: refused, with why
    visit = client_a.get(f"/visas/{submitted.reference}/visit/")
    assert visit.status_code == 400
    assert "complete" in visit.content.decode()
    booked = client_a.post(f"/visas/{submitted.reference}/visit/", {"slot": "1"})
    assert booked.status_code == 400


def test_another_account_gets_not_found_everywhere(client_a, mission_a):
    application = visa_submitted(mission_a)
    draft = visa_draft(mission_a, uploads=False)
    _sign_in(client_a)  # someone else on the same browser
    for ref in (application.reference, draft.reference):
        for path in ("", "edit/", "edit/identity/", "edit/review/", "visit/"):
            assert client_a.get(f"/visas/{ref}/{path}").status_code == 404, path
        for path in ("autosave/", "upload/photo/", "corrections/", "withdraw/", "edit/identity/"):
            assert client_a.post(f"/visas/{ref}/{path}", {"surname": "X"}).status_code == 404, path
    assert _fresh(mission_a, draft).surname == "Smith"
    assert _fresh(mission_a, application).status == VisaStatus.SUBMITTED


def test_another_missions_application_is_not_found(client_b, mission_a):
    application = visa_submitted(mission_a)
    _owner_signs_in(client_b, application)
    for path in ("", "edit/identity/", "visit/"):
        assert client_b.get(f"/visas/{application.reference}/{path}").status_code == 404


def test_withdrawal_through_the_page(client_a, mission_a):
    application = visa_submitted(mission_a)
    _owner_signs_in(client_a, application)
    response = client_a.post(f"/visas/{application.reference}/withdraw/")
    assert response.status_code == 302
    assert _fresh(mission_a, application).status == VisaStatus.WITHDRAWN
    again = client_a.post(f"/visas/{application.reference}/withdraw/")
    assert again.status_code == 302  # back to the page, which says why
    assert _fresh(mission_a, application).status == VisaStatus.WITHDRAWN


def test_corrections_are_made_from_the_status_page(client_a, mission_a):
    # given corrections asked for on the passport copy, by a date
    application = visa_submitted(mission_a)
    with schema_context(mission_a.schema_name):
        decisions = accept_all(application)
        decisions["passport_copy"] = (False, "The copy is cut off at the bottom.")
        casework.completeness_review(
            application=application,
            decisions=decisions,
            due_on=mission_a.today() + dt.timedelta(days=10),
            acting_user=make_staff(mission_a, "officer"),
        )
    _owner_signs_in(client_a, application)
    page = client_a.get(f"/visas/{application.reference}/").content.decode()
    # then the item says what to correct, by when (the mission's zone named), with a new upload
    assert "The copy is cut off at the bottom." in page
    due = (mission_a.today() + dt.timedelta(days=10)).strftime("%-d %B %Y")
    assert f"By {due} (Europe/Berlin)." in page
    assert f'action="/visas/{application.reference}/upload/passport_copy/"' in page
    assert f'action="/visas/{application.reference}/upload/photo/"' not in page
    # when they send the corrections without a new file: refused, the item named
    refused = client_a.post(f"/visas/{application.reference}/corrections/")
    assert refused.status_code == 400
    assert "The copy is cut off at the bottom." in text_of(
        refused.content.decode(), "div", id="error-summary"
    )
    # when they upload a new copy from the status page and send
    uploaded = client_a.post(
        f"/visas/{application.reference}/upload/passport_copy/",
        {"file": SimpleUploadedFile("copy.pdf", pdf_file()), "next": "status"},
    )
    assert uploaded.status_code == 302
    assert uploaded["Location"] == f"/visas/{application.reference}/"
    # then the page says the new file is there but not yet sent, until it is
    page = client_a.get(f"/visas/{application.reference}/").content.decode()
    copy = text_of(page, "li", id="item-passport_copy")
    assert "Correction asked for · new file added, not sent yet" in copy
    turkish = client_a.get(f"/visas/{application.reference}/", HTTP_ACCEPT_LANGUAGE="tr")
    copy_tr = text_of(turkish.content.decode(), "li", id="item-passport_copy")
    assert "yeni dosya eklendi, henüz gönderilmedi" in copy_tr
    sent = client_a.post(f"/visas/{application.reference}/corrections/")
    assert sent.status_code == 302
    assert _fresh(mission_a, application).status == VisaStatus.SUBMITTED
    page = client_a.get(f"/visas/{application.reference}/").content.decode()
    copy = text_of(page, "li", id="item-passport_copy")
    assert "Correction asked for · new file sent" in copy
    assert f"By {due}" not in copy  # the deadline was met: it is no longer shown as one


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "This was sent already. Here is where your application stands."),
        ("tr", "Bu zaten gönderildi. Başvurunuzun şu anki durumu aşağıda."),
    ],
)
@pytest.mark.parametrize("stale", [False, True], ids=["after", "while-the-first-commits"])
def test_a_second_tap_on_send_shows_the_application_as_it_now_stands(
    client_a, mission_a, monkeypatch, language, message, stale
):
    # given corrections asked on the passport copy, made and sent once
    application = _corrections_on_the_copy(mission_a)
    with schema_context(mission_a.schema_name):
        before = VisaApplication.objects.get(pk=application.pk)  # as a slow second tap read it
    _owner_signs_in(client_a, application)
    client_a.post(
        f"/visas/{application.reference}/upload/passport_copy/",
        {"file": SimpleUploadedFile("copy.pdf", pdf_file()), "next": "status"},
    )
    assert client_a.post(f"/visas/{application.reference}/corrections/").status_code == 302
    if stale:  # the second request read the application before the first one committed
        monkeypatch.setattr("visas.views._own", lambda request, reference: before)
    # when the same send comes again, from the status page and from the review step
    for path, data in (("corrections/", {}), ("edit/review/", {"submit": "1"})):
        again = client_a.post(
            f"/visas/{application.reference}/{path}", data, HTTP_ACCEPT_LANGUAGE=language
        )
        # then it leads to the application's page as it stands, saying it was sent already
        assert again.status_code == 302, path
        assert again["Location"] == f"/visas/{application.reference}/"
        page = client_a.get(again["Location"], HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert message in page
        if stale:
            before.status = VisaStatus.CORRECTIONS  # the refresh moved it on: stale again
    assert _fresh(mission_a, application).status == VisaStatus.SUBMITTED


def _corrections_on_the_copy(mission: Mission, *, form: str = "") -> VisaApplication:
    """Submitted, the passport copy asked to be corrected (and the form, with `form`), everything
    else accepted."""
    application = visa_submitted(mission, passport_number="Q7654321")
    with schema_context(mission.schema_name):
        decisions = accept_all(application)
        decisions["passport_copy"] = (False, "The copy is cut off at the bottom.")
        if form:
            decisions[FORM_ITEM] = (False, form)
        casework.completeness_review(
            application=application,
            decisions=decisions,
            acting_user=make_staff(mission, "officer"),
        )
    return application


@pytest.mark.parametrize(
    ("language", "message"),
    [
        (
            "en",
            "This document was not asked for again: only the documents the officer asked to "
            "correct can be replaced.",
        ),
        (
            "tr",
            "Bu belge yeniden istenmedi: yalnızca memurun düzeltilmesini istediği belgeler "
            "değiştirilebilir.",
        ),
    ],
)
def test_during_corrections_an_accepted_document_is_not_replaced_through_the_page(
    client_a, mission_a, language, message
):
    # given corrections asked for on the passport copy, the photo accepted
    application = _corrections_on_the_copy(mission_a)
    with schema_context(mission_a.schema_name):
        photo = Upload.objects.get(application=application, item="photo", is_current=True)
    _owner_signs_in(client_a, application)
    # the documents step offers a new file only for the item asked for
    page = client_a.get(f"/visas/{application.reference}/edit/documents/").content.decode()
    assert f'action="/visas/{application.reference}/upload/passport_copy/"' in page
    assert f'action="/visas/{application.reference}/upload/photo/"' not in page
    # when they post another photo there directly, from the documents step or the status page
    for extra in ({}, {"next": "status"}):
        refused = client_a.post(
            f"/visas/{application.reference}/upload/photo/",
            {"file": SimpleUploadedFile("other.jpg", photo_file()), **extra},
            HTTP_ACCEPT_LANGUAGE=language,
        )
        # then the page says why, in their language, and the accepted photo stays current
        assert refused.status_code == 400
        assert message in refused.content.decode()
    with schema_context(mission_a.schema_name):
        assert list(
            Upload.objects.filter(application=application, item="photo").values_list(
                "pk", flat=True
            )
        ) == [photo.pk]
    # while the copy asked for is replaced
    uploaded = client_a.post(
        f"/visas/{application.reference}/upload/passport_copy/",
        {"file": SimpleUploadedFile("copy.pdf", pdf_file())},
    )
    assert uploaded.status_code == 302


@pytest.mark.parametrize(
    ("language", "message"),
    [
        (
            "en",
            "The officer did not ask for a correction on the form: during corrections, only what "
            "the officer asked to correct can be changed.",
        ),
        (
            "tr",
            "Memur formda bir düzeltme istemedi: düzeltme sürecinde yalnızca memurun "
            "düzeltilmesini istediği şeyler değiştirilebilir.",
        ),
    ],
)
def test_during_corrections_the_identity_is_not_changed_through_the_page(
    client_a, mission_a, language, message
):
    # given corrections asked for on a document only
    application = _corrections_on_the_copy(mission_a)
    _owner_signs_in(client_a, application)
    changed = {"surname": "Smyth", "passport_number": "Q1234567", "nationality": "GBR"}
    # when the applicant posts a new identity to the autosave: a 4xx with the message
    autosave = client_a.post(
        f"/visas/{application.reference}/autosave/", changed, HTTP_ACCEPT_LANGUAGE=language
    )
    assert autosave.status_code == 400
    body = autosave.json()
    assert body["code"] == "visas.not_asked"
    assert body["message"] == message
    assert body["errors"]["surname"] == [message]
    # and to the form's step: the page says why beside the fields
    step = client_a.post(
        f"/visas/{application.reference}/edit/identity/",
        {**changed, "next": "1"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert step.status_code == 400
    assert message in step.content.decode()
    # then nothing changed
    after = _fresh(mission_a, application)
    assert (after.surname, after.passport_number, after.nationality) == (
        "Smith", "Q7654321", "USA",
    )  # fmt: skip
    assert after.status == VisaStatus.CORRECTIONS


# The officer's note on the form, as typed.
FORM_NOTE = "Your surname is spelt differently in the passport."


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("en", {"form": "The application form", "what": "What to correct",
                "copy": "Copy of the passport's data page", "link": "Correct the form",
                "notice": "Corrections asked for on the form", "changed": "changed"}),
        ("tr", {"form": "Başvuru formu", "what": "Düzeltilmesi gereken",
                "copy": "Pasaportun kimlik sayfasının kopyası", "link": "Formu düzeltin",
                "notice": "Formda istenen düzeltmeler", "changed": "değiştirildi"}),
    ],
)  # fmt: skip
def test_a_correction_asked_on_the_form_is_listed_and_the_form_changes(
    client_a, mission_a, language, texts
):
    # given corrections asked for on the form and on the passport copy
    application = _corrections_on_the_copy(mission_a, form=FORM_NOTE)
    _owner_signs_in(client_a, application)
    status = f"/visas/{application.reference}/"
    # the status page lists both in the reader's language: the form first, with the officer's
    # note as typed and the way to it
    page = client_a.get(status, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    listed = texts_of(page, "li", id=f"item-{FORM_ITEM}")
    assert listed == [f"{texts['form']}\n{texts['what']}: {FORM_NOTE}\n{texts['link']}"]
    corrections = text_of(page, "ul", class_="corrections")
    assert corrections.splitlines()[-1] == texts["copy"]
    assert f'href="/visas/{application.reference}/edit/identity/"' in page
    # the form's step says what to correct, and its fields are there to change, saved as typed
    step = client_a.get(
        f"/visas/{application.reference}/edit/identity/", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    notice = text_of(step, "section", **{"aria-labelledby": "form-correction-heading"})
    assert notice == f"{texts['notice']}\n{texts['what']}: {FORM_NOTE}"
    assert 'name="surname"' in step
    assert "data-autosave=" in step
    assert "/static/consulate/autosave.js" in step  # the one script, shared with passports
    # when the corrections are sent before the form is changed, the refusal names the form
    refused = client_a.post(
        f"/visas/{application.reference}/corrections/", HTTP_ACCEPT_LANGUAGE=language
    )
    assert refused.status_code == 400
    summary = text_of(refused.content.decode(), "div", id="error-summary")
    assert f"{texts['form']}:" in summary
    assert FORM_NOTE in summary
    assert FORM_ITEM not in summary
    # when the applicant changes the surname on the step
    values = {"surname": "Smyth", "passport_number": "Q7654321", "next": "1"}
    saved = client_a.post(f"/visas/{application.reference}/edit/identity/", values)
    # then it is kept, and the status page says the form was changed
    assert saved.status_code == 302
    assert _fresh(mission_a, application).surname == "Smyth"
    page = client_a.get(status, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert texts_of(page, "li", id=f"item-{FORM_ITEM}")[0].startswith(
        f"{texts['form']} · {texts['changed']}"
    )


@pytest.mark.parametrize(
    ("language", "heading", "why", "back", "onward"),
    [
        ("en", "This part of the form cannot be changed now",
         "The officer did not ask for a correction on the form: during corrections, only what "
         "the officer asked to correct can be changed.", "Back", "Continue"),
        ("tr", "Formun bu bölümü şu anda değiştirilemez",
         "Memur formda bir düzeltme istemedi: düzeltme sürecinde yalnızca memurun "
         "düzeltilmesini istediği şeyler değiştirilebilir.", "Geri", "Devam et"),
    ],
)  # fmt: skip
def test_during_corrections_a_form_not_asked_for_is_shown_as_text(
    client_a, mission_a, language, heading, why, back, onward
):
    # given corrections asked for on the passport copy only
    application = _corrections_on_the_copy(mission_a)
    _owner_signs_in(client_a, application)
    edit = f"/visas/{application.reference}/edit"
    for step in ("identity", "travel", "questions"):
        # when the applicant opens a step of the form
        page = client_a.get(f"{edit}/{step}/", HTTP_ACCEPT_LANGUAGE=language)
        html = page.content.decode()
        # then it says why it cannot be changed now, under its heading, in their language
        assert page.status_code == 200
        section = text_of(html, "section", **{"aria-labelledby": "form-locked-heading"})
        assert section.splitlines()[:2] == [heading, why]
        # and shows the values as text: no field, no form to send, no autosave
        names = "|".join([*STEP_FIELDS.get(step, ()), "q_"])
        assert not re.search(rf'<(?:input|select|textarea)\b[^>]*\bname="(?:{names})', html)
        assert "data-autosave" not in html
        assert "autosave.js" not in html
        links = texts_of(html, "p", class_="actions")[0].splitlines()
        assert links == ([onward] if step == "identity" else [onward, back])
    identity = client_a.get(f"{edit}/identity/").content.decode()
    assert text_of(identity, "dd", **{"data-field": "surname"}) == "Smith"
    assert text_of(identity, "dd", **{"data-field": "passport_number"}) == "Q7654321"
    # when a changed surname is posted to the step anyway: refused, said why, nothing changed
    forged = client_a.post(
        f"{edit}/identity/", {"surname": "Smyth", "next": "1"}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert forged.status_code == 400
    html = forged.content.decode()
    assert why in html
    assert 'name="surname"' not in html
    assert _fresh(mission_a, application).surname == "Smith"


# The instant the file became complete: late evening in UTC, already the next morning in Tokyo,
# still the afternoon in New York.
ADMISSIBLE = dt.datetime(2026, 3, 9, 23, 30, tzinfo=dt.UTC)


def _complete(mission: Mission) -> VisaApplication:
    application = visa_submitted(mission)
    with schema_context(mission.schema_name):
        decisions = accept_all(application)
        casework.completeness_review(
            application=application, decisions=decisions, acting_user=make_staff(mission, "officer")
        )
        # the file became complete at ADMISSIBLE (the clock as casework sets it, on local dates)
        local = timezone.localdate(ADMISSIBLE, mission.zone)
        VisaApplication.objects.filter(pk=application.pk).update(
            admissible_at=ADMISSIBLE,
            decision_due_on=local + dt.timedelta(days=15),
            extended_due_on=local + dt.timedelta(days=40),
            extension_reason="Your file needs a consultation with another state.",
        )
    return application


@pytest.mark.parametrize(
    ("zone", "admissible", "due"),
    [
        # east of UTC
        ("Asia/Tokyo", "10 March 2026, 08:30 (Asia/Tokyo)", "19 April 2026 (Asia/Tokyo)"),
        # west of UTC
        (
            "America/New_York",
            "9 March 2026, 19:30 (America/New_York)",
            "18 April 2026 (America/New_York)",
        ),
    ],
)
def test_the_legal_clock_is_read_in_the_missions_zone(client_b, mission_b, zone, admissible, due):
    Mission.objects.filter(pk=mission_b.pk).update(timezone=zone)
    mission_b.refresh_from_db()
    application = _complete(mission_b)
    _owner_signs_in(client_b, application)
    html = client_b.get(f"/visas/{application.reference}/").content.decode()
    assert text_of(html, "dd", **{"class": "clock-admissible"}) == admissible
    assert text_of(html, "dd", **{"class": "clock-due"}).startswith(due)
    assert text_of(html, "dd", **{"class": "clock-extension"}) == (
        "Your file needs a consultation with another state."
    )
    assert text_of(html, "p", **{"class": "waiting-for"}).startswith(
        "Your file is complete: book your appointment."
    )
    assert "Book your appointment" in html


def test_a_step_sent_in_part_changes_only_what_it_sent(client_a, mission_a):
    application = visa_draft(mission_a, uploads=False)
    _owner_signs_in(client_a, application)
    response = client_a.post(
        f"/visas/{application.reference}/edit/identity/", {"occupation": "Pilot", "save": "1"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/visas/{application.reference}/edit/identity/"
    after = _fresh(mission_a, application)
    assert after.occupation == "Pilot"
    assert after.surname == "Smith"


def test_the_pages_render_in_turkish(client_a, mission_a):
    application = _complete(mission_a)
    _owner_signs_in(client_a, application)
    status = client_a.get(f"/visas/{application.reference}/", HTTP_ACCEPT_LANGUAGE="tr")
    assert status.status_code == 200
    assert '<html lang="tr">' in status.content.decode()
    assert "Turizm" in text_of(status.content.decode(), "h1")
    draft = visa_draft(mission_a, uploads=False)
    _owner_signs_in(client_a, draft)
    for step in STEPS:
        page = client_a.get(f"/visas/{draft.reference}/edit/{step}/", HTTP_ACCEPT_LANGUAGE="tr")
        assert page.status_code == 200, step
    listing = client_a.get("/visas/", HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert draft.reference in listing


def test_the_sites_navigation_leads_a_signed_in_person_to_visas(client_a, mission_a):
    _sign_in(client_a)
    page = client_a.get("/").content.decode()
    nav = page[page.index("<nav") : page.index("</nav>")]
    assert '<a href="/visas/">Visas</a>' in nav


# --- found by the browser trial ----------------------------------------------------------------


def test_the_holder_downloads_the_issued_e_visa_from_the_status_page(client_a, mission_a):
    from tests.passports.seals import signer_issue
    from tests.visas.factories_casework import visa_issued

    # given an issued visa
    signer_issue(mission_a)
    application = visa_issued(mission_a)
    _owner_signs_in(client_a, application)
    # then the status page leads to it, with its number, validity and entries in words
    html = client_a.get(f"/visas/{application.reference}/").content.decode()
    link = f'href="/visas/{application.reference}/evisa.pdf"'
    assert link in html
    assert "Download your e-visa (PDF)" in text_of(html, "section", id="evisa")
    assert text_of(html, "dd", **{"class": "visa-number"}) == application.visa_number
    assert text_of(html, "dd", **{"class": "visa-validity"}) == "From {} to {}".format(
        application.visa_valid_from.strftime("%-d %B %Y"),
        application.visa_valid_until.strftime("%-d %B %Y"),
    )
    assert text_of(html, "dd", **{"class": "visa-entries"}) == "Single entry"
    # and the PDF downloads, never sniffed nor cached
    pdf = client_a.get(f"/visas/{application.reference}/evisa.pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert pdf["Content-Disposition"] == f'attachment; filename="evisa-{application.reference}.pdf"'
    assert pdf["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in pdf["Cache-Control"]
    # anyone else: not found
    _sign_in(client_a)
    assert client_a.get(f"/visas/{application.reference}/evisa.pdf").status_code == 404


def test_there_is_no_e_visa_before_the_visa_is_issued(client_a, mission_a):
    application = visa_submitted(mission_a)
    _owner_signs_in(client_a, application)
    assert client_a.get(f"/visas/{application.reference}/evisa.pdf").status_code == 404
    assert "evisa.pdf" not in client_a.get(f"/visas/{application.reference}/").content.decode()


def _travel(mission: Mission) -> tuple[VisaApplication, dt.date, dt.date]:
    entry = mission.today() + dt.timedelta(days=30)
    exit_ = entry + dt.timedelta(days=9)
    application = visa_draft(
        mission, uploads=False, entry_date=entry.isoformat(), exit_date=exit_.isoformat()
    )
    return application, entry, exit_


def test_autosave_of_an_arrival_after_the_saved_departure_is_answered_not_stored(
    client_a, mission_a
):
    # given a draft with an arrival and a departure nine days later
    application, entry, exit_ = _travel(mission_a)
    _owner_signs_in(client_a, application)
    later = (entry + dt.timedelta(days=31)).isoformat()
    autosave = f"/visas/{application.reference}/autosave/"
    # when the page sends the arrival moved after the departure, the departure as it was
    # (a browser sends every field of the step)
    both = client_a.post(autosave, {"entry_date": later, "exit_date": exit_.isoformat()})
    # then the arrival is answered with why, and nothing of it is stored
    assert both.status_code == 400
    assert both.json()["errors"] == {"entry_date": "The arrival cannot be after the departure."}
    assert both.json()["saved"] == []
    # when only the arrival is sent: the same
    alone = client_a.post(autosave, {"entry_date": later})
    assert alone.status_code == 400
    assert set(alone.json()["errors"]) == {"entry_date"}
    # when the departure is moved before the arrival: on the departure
    early = (entry - dt.timedelta(days=1)).isoformat()
    departure = client_a.post(autosave, {"entry_date": entry.isoformat(), "exit_date": early})
    assert departure.status_code == 400
    assert departure.json()["errors"] == {
        "exit_date": "The departure cannot be before the arrival."
    }
    after = _fresh(mission_a, application)
    assert (after.entry_date, after.exit_date) == (entry, exit_)
    # when both move together, both are saved
    moved = client_a.post(
        autosave, {"entry_date": later, "exit_date": (entry + dt.timedelta(days=40)).isoformat()}
    )
    assert moved.status_code == 200, moved.content
    assert _fresh(mission_a, application).entry_date.isoformat() == later


def test_the_travel_step_with_an_arrival_after_the_departure_is_refused_on_the_page(
    client_a, mission_a
):
    application, entry, exit_ = _travel(mission_a)
    _owner_signs_in(client_a, application)
    later = (entry + dt.timedelta(days=31)).isoformat()
    response = client_a.post(
        f"/visas/{application.reference}/edit/travel/",
        {"entry_date": later, "exit_date": exit_.isoformat(), "next": "1"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "The arrival cannot be after the departure." in text_of(
        html, "span", id="id_entry_date-message"
    )
    assert _fresh(mission_a, application).entry_date == entry


def test_an_expired_passport_is_refused_at_its_field(client_a, mission_a):
    application = visa_draft(mission_a, uploads=False)
    _owner_signs_in(client_a, application)
    yesterday = (mission_a.today() - dt.timedelta(days=1)).isoformat()
    response = client_a.post(
        f"/visas/{application.reference}/edit/identity/",
        {"passport_expires_on": yesterday, "next": "1"},
    )
    assert response.status_code == 400
    assert text_of(response.content.decode(), "span", id="id_passport_expires_on-message") == (
        "This passport has expired."
    )
    autosave = client_a.post(
        f"/visas/{application.reference}/autosave/", {"passport_expires_on": yesterday}
    )
    assert autosave.json()["errors"] == {"passport_expires_on": "This passport has expired."}
    assert _fresh(mission_a, application).passport_expires_on > mission_a.today()


def test_the_review_shows_choices_and_dates_in_words(client_a, mission_a):
    application = visa_draft(mission_a, uploads=False, birth_date="1985-06-15")
    _owner_signs_in(client_a, application)
    html = client_a.get(f"/visas/{application.reference}/edit/review/").content.decode()
    assert text_of(html, "dd", **{"data-field": "entries"}) == "Single entry"
    assert text_of(html, "dd", **{"data-field": "sex"}) == "Female"
    assert text_of(html, "dd", **{"data-field": "birth_date"}) == "15 June 1985"
    assert "1985-06-15" not in html
    # a yes/no question's answer as a word
    assert "Yes" in texts_of(html, "dd")
    # in Turkish: the month's name and the choice translated
    html_tr = client_a.get(
        f"/visas/{application.reference}/edit/review/", HTTP_ACCEPT_LANGUAGE="tr"
    ).content.decode()
    assert text_of(html_tr, "dd", **{"data-field": "birth_date"}) == "15 Haziran 1985"
    assert "Evet" in texts_of(html_tr, "dd")


def test_the_photo_is_described_once_on_the_documents_step(client_a, mission_a):
    application = visa_draft(mission_a, uploads=False)
    _owner_signs_in(client_a, application)
    html = client_a.get(f"/visas/{application.reference}/edit/documents/").content.decode()
    photo = text_of(html, "li", id="item-photo")
    assert photo.count("plain light background") == 1
    assert "35 × 45 mm" in photo


def _visit_booked(mission: Mission, application: VisaApplication) -> dt.datetime:
    """Book the complete file's visit as its owner, at the visa service's last time; return
    when the appointment starts."""
    from appointments.models import Booking
    from tests.appointments.factories import build_catalogue
    from visas.services import application as services

    with schema_context(mission.schema_name):
        service = build_catalogue(purpose="visa", code="visa", name="Visa application")
        slot = service.slots.order_by("starts_at").last()
        owner = User.objects.get(pk=application.user_id)
        services.application_visit_book(
            application=VisaApplication.objects.get(pk=application.pk),
            slot_id=slot.pk,
            acting_user=owner,
        )
        return Booking.objects.get(user_id=owner.pk).slot.starts_at


def test_once_booked_the_status_says_when_in_the_missions_zone(client_a, mission_a):
    application = _complete(mission_a)
    starts_at = _visit_booked(mission_a, application)
    _owner_signs_in(client_a, application)
    html = client_a.get(f"/visas/{application.reference}/").content.decode()
    status = text_of(html, "strong", **{"class": "status status-complete"})
    when = timezone.localtime(starts_at, mission_a.zone).strftime("%A %-d %B %Y, %H:%M")
    assert status == f"Appointment booked: {when} (Europe/Berlin)"
    assert "Complete: book your appointment" not in html


def test_form_errors_are_not_repeated_in_a_banner(client_a, mission_a):
    application = visa_draft(mission_a, uploads=False)
    _owner_signs_in(client_a, application)
    response = client_a.post(
        f"/visas/{application.reference}/edit/identity/", {"phone": "call me", "next": "1"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="messages"' not in html  # no banner
    assert "country code" in text_of(html, "div", id="error-summary")
    # the field's hint and its refusal give the same example (a trial found two)
    assert "+49 30 1234567" in text_of(html, "div", id="error-summary")
    assert "e.g. +49 30 1234567." in html
    assert "617 555" not in html
    # a file refused: said by its item and the summary, not a banner
    upload = client_a.post(
        f"/visas/{application.reference}/upload/passport_copy/",
        {"file": SimpleUploadedFile("copy.pdf", b"MZ\x90\x00" + b"\x00" * 2000)},
    )
    assert upload.status_code == 400
    assert 'class="messages"' not in upload.content.decode()
    # what the page shows nowhere else keeps its banner: the review's submission refused
    review = client_a.post(f"/visas/{application.reference}/edit/review/", {"submit": "1"})
    assert "Some of the application is missing." in text_of(
        review.content.decode(), "ul", **{"class": "messages"}
    )


def test_what_a_complete_file_waits_for_follows_the_appointment_and_the_fee(client_a, mission_a):
    from fees.models import Assessment, AssessmentStatus

    application = _complete(mission_a)
    _owner_signs_in(client_a, application)

    def waiting_for(language: str = "en") -> str:
        html = client_a.get(
            f"/visas/{application.reference}/", HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()
        return text_of(html, "p", **{"class": "waiting-for"})

    def listed_status() -> str:
        return text_of(client_a.get("/visas/").content.decode(), "span", **{"class": "status"})

    # not booked, not paid: book, and the fee is taken there
    assert waiting_for() == (
        "Your file is complete: book your appointment. There the mission confirms your "
        "identity and takes your fingerprints and the fee."
    )
    assert listed_status() == "Complete: book your appointment"
    # booked: the appointment is what is waited for, with the fee still to pay
    _visit_booked(mission_a, application)
    assert waiting_for() == (
        "Come to your appointment. There the mission checks your identity, takes your fingerprints "
        "and takes the fee."
    )
    assert listed_status() == "Appointment booked"
    assert listed_status() != "Complete: book your appointment"
    # the appointment's line names it once, its link says what it leads to (in Turkish too)
    html_tr = client_a.get(
        f"/visas/{application.reference}/", HTTP_ACCEPT_LANGUAGE="tr"
    ).content.decode()
    todo = text_of(html_tr, "section", **{"class": "todo"})
    assert "Randevu ayrıntıları" in todo
    assert todo.count("Randevunuz") == 1
    # paid online before the appointment: the fee is no longer listed
    with schema_context(mission_a.schema_name):
        assessment_id = VisaApplication.objects.get(pk=application.pk).assessment_id
        Assessment.objects.filter(pk=assessment_id).update(status=AssessmentStatus.SETTLED)
    assert waiting_for() == (
        "Come to your appointment. There the mission checks your identity and takes your "
        "fingerprints."
    )
    # and in Turkish
    assert (
        waiting_for("tr")
        == "Randevunuza gelin. Temsilcilik orada kimliğinizi kontrol eder ve parmak izlerinizi"
        " alır."
    )
    assert "Randevu alındı" in client_a.get("/visas/", HTTP_ACCEPT_LANGUAGE="tr").content.decode()


def test_the_fee_page_leads_back_to_the_visa_application(client_a, mission_a):
    from fees.models import Assessment

    application = _complete(mission_a)
    with schema_context(mission_a.schema_name):
        assessment_id = VisaApplication.objects.get(pk=application.pk).assessment_id
        token = Assessment.objects.get(pk=assessment_id).pay_token
    html = client_a.get(f"/pay/{token}/").content.decode()
    assert f'<a href="/visas/{application.reference}/">Back to your application</a>' in html


# --- the appointment's times -----------------------------------------------------------------

APPOINTMENT_BOOKED = {
    "en": "Your appointment is booked. The confirmation is in your e-mail.",
    "tr": "Randevunuz alındı. Onay e-postanıza gönderildi.",
}


def _visa_service(days: int):  # type: ignore[no-untyped-def]
    from tests.appointments.factories import build_catalogue

    return build_catalogue(purpose="visa", code="visa", name="Visa application", days=days)


@pytest.mark.parametrize(
    ("zone", "language"),
    [("Asia/Tokyo", "tr"), ("America/New_York", "en"), ("Asia/Tokyo", "en")],
    ids=["tokyo-tr", "new_york-en", "tokyo-en"],
)
def test_the_appointment_page_reaches_every_day_of_the_horizon(
    in_mission_a, mission_a, zone, language
):
    from appointments.models import Booking
    from tests.appointments.factories import visit_page_reaches_every_day
    from tests.appointments.test_visit_recorded import _mission_in

    # given a mission east or west of UTC whose visa service has free times on 14 days, more
    # than the first 24 times covered (6 a day), and a complete file
    mission = _mission_in(mission_a, zone)
    service = _visa_service(days=14)
    application = _complete(mission)
    client = host_client(mission.host)
    _owner_signs_in(client, application)
    visit = f"/visas/{application.reference}/visit/"
    last = visit_page_reaches_every_day(
        client, visit, service=service, mission=mission, language=language
    )
    # and the time chosen on the last day is booked
    answer = client.post(visit, {"slot": last[-1].pk}, HTTP_ACCEPT_LANGUAGE=language)
    assert answer.status_code == 302
    page = client.get(answer["Location"], HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert APPOINTMENT_BOOKED[language] in texts_of(page, "li", class_="message success")
    owner = User.objects.get(pk=application.user_id)
    assert Booking.objects.get(user_id=owner.pk).slot_id == last[-1].pk


def test_the_appointment_page_costs_the_same_whatever_the_days_offered(in_mission_a, mission_a):
    from tests.appointments.factories import visit_page_costs_the_same_for_more_days

    # given a complete file and a visa service with times on 3 days
    service = _visa_service(days=3)
    application = _complete(mission_a)
    client = host_client(mission_a.host)
    _owner_signs_in(client, application)
    visit = f"/visas/{application.reference}/visit/"
    visit_page_costs_the_same_for_more_days(client, visit, service)


@pytest.mark.parametrize(("language", "said"), [("en", "Journey: "), ("tr", "Yolculuk: ")])
def test_a_start_without_a_category_is_named_at_the_top_linked_to_the_choices(
    client_a, mission_a, language, said
):
    with schema_context(mission_a.schema_name):
        reference_ensure()
    _sign_in(client_a)
    # when the start is sent with no category chosen
    response = client_a.post("/visas/", {"category": "nope"}, HTTP_ACCEPT_LANGUAGE=language)
    # then the summary names the choice, linked to its group of buttons, and nothing starts
    assert response.status_code == 400
    html = response.content.decode()
    [(link, text)] = error_summary(html)
    assert link == "#id_category"
    assert '<fieldset class="field field-error" id="id_category" tabindex="-1"' in html
    assert text.startswith(said)
    with schema_context(mission_a.schema_name):
        assert not VisaApplication.objects.exists()
