"""The casework pages as the mission's staff use them, through the client: the queue with the
legal clock, the case with its documents, and each action behind its permission."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django_tenants.utils import schema_context

from consulate.kernel.errors import ApplicationError
from missions.models import Mission
from sync.models import OutboxEvent
from tests.conftest import error_summary, make_staff, text_of, texts_of
from tests.missions.test_tenant_isolation import login_with_second_factor
from tests.passports.test_views import _told_calmly
from tests.visas.factories import visa_submitted
from tests.visas.factories_casework import (
    numbers_allocate,
    visa_appealed,
    visa_attended,
    visa_complete,
    visa_issued,
    visa_paid,
    visa_recommended,
    visa_refused,
    visa_screened,
)
from visas.models import (
    FORM_ITEM,
    Appeal,
    ItemReview,
    ScreeningHit,
    Upload,
    VisaApplication,
    VisaFingerprint,
    VisaStatus,
)
from visas.services import casework, screening

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


def _status(mission, application: VisaApplication) -> str:  # type: ignore[no-untyped-def]
    with schema_context(mission.schema_name):
        return VisaApplication.objects.get(pk=application.pk).status


def test_the_queue_shows_the_legal_clock(client_a, mission_a):
    complete = visa_complete(mission_a, surname="Lindqvist")
    late = visa_attended(mission_a, surname="Okoro")
    with schema_context(mission_a.schema_name):
        VisaApplication.objects.filter(pk=late.pk).update(
            decision_due_on=mission_a.today() - dt.timedelta(days=2)
        )
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    page = client_a.get("/staff/visas/")
    assert page.status_code == 200
    rows = texts_of(page.content, "tr")
    row = next(text for text in rows if complete.reference in text)
    assert "15 days left" in row
    overdue = next(text for text in rows if late.reference in text)
    assert "overdue by 2 days" in overdue
    assert 'class="overdue"' in page.content.decode()
    # found by the exact surname, through its blind index
    found = client_a.get("/staff/visas/", {"q": "okoro"})
    assert late.reference in found.content.decode()
    assert complete.reference not in found.content.decode()


def test_the_completeness_check_through_the_page(client_a, mission_a):
    application = visa_submitted(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    case = client_a.get(f"/staff/visas/{application.reference}/")
    assert case.status_code == 200
    html = case.content.decode()
    assert "Completeness check" in html
    with schema_context(mission_a.schema_name):
        uploads = list(Upload.objects.filter(application_id=application.pk, is_current=True))
    # every upload downloads, decrypted, as an attachment the browser does not sniff
    upload = uploads[0]
    download = client_a.get(f"/staff/visas/{application.reference}/files/{upload.pk}/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Type"] == upload.content_type
    assert download["Cache-Control"] == "private, no-store"
    items = {f"item_{u.item}": "accept" for u in uploads} | {f"item_{FORM_ITEM}": "accept"}
    first = uploads[0].item
    # a correction without its reason is refused, beside the item
    refused = client_a.post(
        f"/staff/visas/{application.reference}/completeness/", {**items, f"item_{first}": "correct"}
    )
    assert refused.status_code == 400
    done = client_a.post(
        f"/staff/visas/{application.reference}/completeness/",
        {**items, f"item_{first}": "correct", f"reason_{first}": "Unreadable scan."},
    )
    assert done.status_code == 302
    with schema_context(mission_a.schema_name):
        application.refresh_from_db()
    assert application.status == VisaStatus.CORRECTIONS
    page = client_a.get(f"/staff/visas/{application.reference}/").content.decode()
    assert "Unreadable scan." in page


# The officer's note on the form, as typed.
FORM_NOTE = "Your surname is spelt differently in the passport."


def _form_correction_post(client, mission, application, note=FORM_NOTE, **extra):  # type: ignore[no-untyped-def]
    """The completeness check as its page posts it: every document accepted, and a correction
    asked on the application form with `note`."""
    with schema_context(mission.schema_name):
        items = casework.checklist_of(application)
    data = {f"item_{item.code}": "accept" for item in items}
    data |= {f"item_{FORM_ITEM}": "correct", f"reason_{FORM_ITEM}": note}
    return client.post(f"/staff/visas/{application.reference}/completeness/", data, **extra)


@pytest.mark.parametrize(
    ("language", "label", "help_text", "asked"),
    [
        ("en", "The application form", "Accept the application form and each document",
         "Correction asked for"),
        ("tr", "Başvuru formu", "Başvuru formunu ve her belgeyi kabul edin", "Düzeltme istendi"),
    ],
)  # fmt: skip
def test_the_officer_asks_for_a_correction_on_the_form_through_the_page(
    client_a, mission_a, language, label, help_text, asked
):
    # given a submitted application and an officer
    application = visa_submitted(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    case = f"/staff/visas/{application.reference}/"
    # the completeness check offers the form first, with no choice made for the officer
    html = client_a.get(case, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    section = text_of(html, "section", **{"aria-labelledby": "completeness-heading"})
    assert help_text in section
    assert texts_of(html, "legend")[0] == label
    assert re.search(rf'name="item_{FORM_ITEM}" value="(accept|correct)"', html)
    assert not re.search(r'<input type="radio" name="item_[^>]*checked', html)
    # and each note's label names what it is about, as a screen reader lists the fields
    with schema_context(mission_a.schema_name):
        codes = [FORM_ITEM, *(item.code for item in casework.checklist_of(application))]
    note_labels = [text_of(html, "label", **{"for": f"id_reason_{code}"}) for code in codes]
    what = "için düzeltilmesi gereken" if language == "tr" else "What to correct in"
    assert f"“{label}”" in note_labels[0]
    assert all(what in text for text in note_labels)
    assert len(set(note_labels)) == len(note_labels)
    # when the officer accepts every document and asks for a correction on the form
    done = _form_correction_post(client_a, mission_a, application)
    # then corrections are asked, and the case shows the form's review with the note
    assert done.status_code == 302
    assert _status(mission_a, application) == VisaStatus.CORRECTIONS
    page = client_a.get(case, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    row = next(text for text in texts_of(page, "tr") if label in text)
    assert f"{asked}: {FORM_NOTE}" in row


@pytest.mark.parametrize(
    ("language", "note", "message"),
    [
        ("en", "", "Say what to correct."),
        ("tr", "", "Neyin düzeltileceğini yazın."),
        ("en", "x" * 100_000, "Use at most 2000 characters."),
        ("tr", "x" * 100_000, "En fazla 2000 karakter kullanın."),
        ("en", "Spelt\x00wrong", "The request contains characters that are not allowed"),
        ("tr", "Spelt\x00wrong", "İstek, izin verilmeyen karakterler içeriyor"),
    ],
    ids=["empty-en", "empty-tr", "100kb-en", "100kb-tr", "nul-en", "nul-tr"],
)
def test_a_bad_note_on_the_form_is_refused_through_the_page(
    client_a, mission_a, language, note, message
):
    # given a submitted application and an officer
    application = visa_submitted(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    with schema_context(mission_a.schema_name):
        events = OutboxEvent.objects.count()
    # when the officer asks for a correction on the form with a note that cannot be kept
    refused = _form_correction_post(
        client_a, mission_a, application, note, HTTP_ACCEPT_LANGUAGE=language
    )
    # then the page says why, in their language (beside the note when the check got it)
    assert refused.status_code == 400
    html = refused.content.decode()
    assert message in html
    if "\x00" not in note:
        said = text_of(html, "span", id=f"id_reason_{FORM_ITEM}-message")
        assert said == message
    # and nothing is kept
    assert _status(mission_a, application) == VisaStatus.SUBMITTED
    with schema_context(mission_a.schema_name):
        assert not ItemReview.objects.filter(application_id=application.pk).exists()
        assert OutboxEvent.objects.count() == events


def test_a_mission_admin_cannot_ask_for_a_form_correction(client_a, mission_a):
    # given a submitted application and the mission's admin, who reads cases but does not
    # process them
    application = visa_submitted(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "mission_admin"))
    case = f"/staff/visas/{application.reference}/"
    # the case shows no completeness check
    html = client_a.get(case).content.decode()
    assert f'name="item_{FORM_ITEM}"' not in html
    # when they post one anyway: there is no such page for them, and nothing is kept
    refused = _form_correction_post(client_a, mission_a, application)
    assert refused.status_code == 404
    assert _status(mission_a, application) == VisaStatus.SUBMITTED
    with schema_context(mission_a.schema_name):
        assert not ItemReview.objects.filter(application_id=application.pk).exists()


def _form_resaved(mission, application: VisaApplication, send: bool = False, **values):  # type: ignore[no-untyped-def]
    """The applicant changes the form during corrections (`values`), and sends it with `send`."""
    from consulate.kernel.accounts.models import User
    from visas.services import application as services

    with schema_context(mission.schema_name):
        applicant = User.objects.get(pk=application.user_id)
        application = VisaApplication.objects.get(pk=application.pk)
        services.application_draft_save(application=application, data=values, acting_user=applicant)
        if send:
            services.application_submit(application=application, acting_user=applicant)


@pytest.mark.parametrize(
    ("language", "label", "changed", "unchanged", "surname", "birth"),
    [
        ("en", "The application form", "Changed since the correction was asked:",
         "No change to the form since the correction was asked.", "Surname",
         "Date of birth: 3 February 1988 →changed to 4 February 1988"),
        ("tr", "Başvuru formu", "Düzeltme istendiğinden beri değişenler:",
         "Düzeltme istendiğinden beri formda değişiklik yok.", "Soyadı",
         "Doğum tarihi: 3 Şubat 1988 →yeni değeri 4 Şubat 1988"),
    ],
)  # fmt: skip
def test_the_case_lists_what_changed_on_the_form_since_the_correction_was_asked(
    client_a, mission_a, language, label, changed, unchanged, surname, birth
):
    # given a correction asked on the form of MAMMADOV, born 3 February 1988
    application = visa_submitted(mission_a, surname="MAMMADOV", birth_date="1988-02-03")
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    assert _form_correction_post(client_a, mission_a, application).status_code == 302
    case = f"/staff/visas/{application.reference}/"

    def form_row() -> str:
        page = client_a.get(case, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        return next(text for text in texts_of(page, "tr") if label in text)

    # nothing changed yet: the form's row says so
    assert unchanged in form_row()
    # when the applicant corrects the surname, changes the birth date unasked, and sends
    _form_resaved(mission_a, application, surname="MAMEDOV", birth_date="1988-02-04", send=True)
    assert _status(mission_a, application) == VisaStatus.SUBMITTED
    # then the form's row lists both changes, old and new values as a person reads them
    html = client_a.get(case, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    row = form_row()
    assert changed in row
    assert unchanged not in row
    items = texts_of(html, "li")
    # (the arrow is hidden from screen readers, which read the words after it instead)
    to = birth.split("→")[1].rsplit(" ", 3)[0]  # the words before "4 February 1988"
    assert f"{surname}: MAMMADOV →{to} MAMEDOV" in items
    assert birth in items


@pytest.mark.parametrize(
    ("language", "label", "unchanged"),
    [
        ("en", "The application form", "No change to the form since the correction was asked."),
        ("tr", "Başvuru formu", "Düzeltme istendiğinden beri formda değişiklik yok."),
    ],
)
def test_a_form_changed_and_changed_back_is_not_corrected(
    client_a, mission_a, language, label, unchanged
):
    # given a correction asked on the form of MAMMADOV
    application = visa_submitted(mission_a, surname="MAMMADOV")
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    assert _form_correction_post(client_a, mission_a, application).status_code == 302
    # when the applicant changes the surname, then changes it back
    _form_resaved(mission_a, application, surname="MAMEDOV")
    with schema_context(mission_a.schema_name):
        review = ItemReview.objects.get(application_id=application.pk, item=FORM_ITEM)
        assert review.corrected_at is not None
    _form_resaved(mission_a, application, surname="MAMMADOV")
    # then the correction is outstanding again: not corrected, and it cannot be sent
    with schema_context(mission_a.schema_name):
        review.refresh_from_db()
        assert review.corrected_at is None
    with pytest.raises(ApplicationError):
        _form_resaved(mission_a, application, send=True)
    assert _status(mission_a, application) == VisaStatus.CORRECTIONS
    # and the case says the form has not changed, without "corrected since"
    page = client_a.get(
        f"/staff/visas/{application.reference}/", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    row = next(text for text in texts_of(page, "tr") if label in text)
    assert unchanged in row
    assert ("sonradan düzeltildi" if language == "tr" else "corrected since") not in row


def test_the_consul_who_recommended_sees_the_four_eyes_rule(client_a, mission_a):
    from tests.factories import MembershipFactory

    both = make_staff(mission_a, "officer")
    MembershipFactory(user=both, mission=mission_a, role="consul")
    application = visa_recommended(mission_a, officer=both)
    login_with_second_factor(client_a, both)
    html = client_a.get(f"/staff/visas/{application.reference}/").content.decode()
    assert "another consul decides it" in html
    assert 'value="issue"' not in html
    refused = client_a.post(
        f"/staff/visas/{application.reference}/decide/", {"decision": "issue", "note": ""}
    )
    assert refused.status_code == 400
    consul = make_staff(mission_a, "consul")
    login_with_second_factor(client_a, consul)
    page = client_a.get(f"/staff/visas/{application.reference}/").content.decode()
    assert 'value="refuse"' in page
    assert "A false, counterfeit or forged travel document was presented." in page
    refuse = client_a.post(
        f"/staff/visas/{application.reference}/decide/",
        {"decision": "refuse", "grounds": ["purpose"], "note": ""},
    )
    assert refuse.status_code == 302
    with schema_context(mission_a.schema_name):
        application.refresh_from_db()
    assert application.status == VisaStatus.REFUSED


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            [
                ("#id_valid_from", "Valid from", "A visa starts today or on a day within the next"
                 " five years."),
                ("#id_duration_days", "Days of stay", "The stay is 1 to 90 days, and no longer"
                 " than the visa's validity."),
            ],
        ),
        (
            "tr",
            [
                ("#id_valid_from", "Geçerlilik başlangıcı", "Vize bugün ya da önümüzdeki beş yıl"
                 " içindeki bir günde başlar."),
                ("#id_duration_days", "Kalış günü sayısı", "Kalış süresi 1 ile 90 gün arasında"
                 " olmalı ve vizenin geçerlilik süresinden uzun olmamalıdır."),
            ],
        ),
    ],
)  # fmt: skip
def test_a_decision_refused_on_several_fields_names_each_at_once(
    client_a, mission_a, language, expected
):
    # given a case a consul may decide
    application = _decidable(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "consul"))
    # when the consul issues it from a day ten years ahead for a stay of 400 days
    far = mission_a.today() + dt.timedelta(days=3660)
    answer = client_a.post(
        f"/staff/visas/{application.reference}/decide/",
        {"decision": "issue", "note": "", "valid_from": far.isoformat(), "duration_days": "400"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    # then both reasons are named at once, each linked to its field, and nothing is decided
    assert answer.status_code == 400
    assert error_summary(answer.content.decode()) == [
        (link, f"{label}: {reason}") for link, label, reason in expected
    ]
    assert _status(mission_a, application) == VisaStatus.RECOMMENDED


def test_a_case_decided_meanwhile_says_so_before_any_fields_reason(client_a, mission_a):
    # given a case one consul has just issued
    application = _decidable(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "consul"))
    path = f"/staff/visas/{application.reference}/decide/"
    assert client_a.post(path, {"decision": "issue", "note": ""}).status_code == 302
    # when a second consul, on the page as it was, issues it from a day ten years ahead
    login_with_second_factor(client_a, make_staff(mission_a, "consul"))
    far = mission_a.today() + dt.timedelta(days=3660)
    answer = client_a.post(path, {"decision": "issue", "note": "", "valid_from": far.isoformat()})
    # then the answer is the case's state, not the far day, and the first decision stands
    assert answer.status_code == 400
    assert texts_of(answer.content, "li", class_="message error") == [
        "Only a recommended application is decided: complete, seen at the visit and"
        " recommended by an officer."
    ]
    assert "within the next five years" not in answer.content.decode()
    assert _status(mission_a, application) == VisaStatus.ISSUED


def test_an_officer_sees_no_decision_buttons(client_a, mission_a):
    application = visa_recommended(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    html = client_a.get(f"/staff/visas/{application.reference}/").content.decode()
    assert 'value="issue"' not in html
    assert "Extend the decision period" not in html
    assert (
        client_a.post(
            f"/staff/visas/{application.reference}/decide/", {"decision": "issue"}
        ).status_code
        == 404
    )


def test_another_missions_staff_find_nothing(client_b, mission_a, mission_b):
    application = visa_submitted(mission_a)
    login_with_second_factor(client_b, make_staff(mission_b, "consul"))
    assert client_b.get(f"/staff/visas/{application.reference}/").status_code == 404
    with schema_context(mission_a.schema_name):
        upload = Upload.objects.filter(application_id=application.pk).first()
    assert (
        client_b.get(f"/staff/visas/{application.reference}/files/{upload.pk}/").status_code == 404
    )


def test_a_citizen_cannot_open_the_staff_pages(client_a, mission_a):
    application = visa_submitted(mission_a)
    from tests.factories import UserFactory

    client_a.force_login(UserFactory(), backend="missions.auth.ModelBackend")
    for path in ("/staff/visas/", f"/staff/visas/{application.reference}/"):
        assert client_a.get(path).status_code == 404


def test_screening_through_the_page(client_a, mission_a):
    application = visa_attended(mission_a, surname="Müller", given_names="Hans Peter",
                                birth_date="1968-11-23", nationality="DEU")  # fmt: skip
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    run = client_a.post(f"/staff/visas/{application.reference}/screen/")
    assert run.status_code == 302
    page = client_a.get(f"/staff/visas/{application.reference}/")
    html = page.content.decode()
    # the demo watchlist's MUELLER HANS PETER
    assert "MUELLER HANS PETER" in html
    assert "Matches to look at" in html
    # the final score and the name's similarity, told apart; the reasons in words
    heading = next(text for text in texts_of(html, "h3") if "MUELLER" not in text)
    assert "Score 100% (name 100% similar, same date of birth, same nationality)" in heading
    assert "23 November 1968" in html
    # in Turkish, the reasons too (they are stored as codes, worded when read)
    turkish = client_a.get(
        f"/staff/visas/{application.reference}/", HTTP_ACCEPT_LANGUAGE="tr"
    ).content.decode()
    assert "Doğum tarihi aynı." in turkish
    assert "Same date of birth." not in turkish
    assert "“MUELLER HANS PETER”" in turkish
    with schema_context(mission_a.schema_name):
        from visas.models import ScreeningHit

        hits = list(ScreeningHit.objects.filter(screening__application_id=application.pk))
    for hit in hits:
        done = client_a.post(
            f"/staff/visas/{application.reference}/matches/{hit.pk}/",
            {"resolution": "cleared", "reason": "Born elsewhere; another face."},
        )
        assert done.status_code == 302
    html = client_a.get(f"/staff/visas/{application.reference}/").content.decode()
    assert "Born elsewhere; another face." in html
    assert text_of(html, "h2", id="recommend-heading") == "Recommend"


def test_the_issued_e_visa_downloads_from_the_case(client_a, mission_a):
    from tests.passports.seals import signer_issue
    from tests.visas.factories_casework import visa_issued

    signer_issue(mission_a)
    application = visa_issued(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    html = client_a.get(f"/staff/visas/{application.reference}/").content.decode()
    assert "Download the e-visa (PDF)" in html
    assert application.visa_number in html
    pdf = client_a.get(f"/staff/visas/{application.reference}/evisa.pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert pdf["X-Content-Type-Options"] == "nosniff"


def test_bad_input_answers_4xx_and_changes_nothing(client_a, mission_a):
    application = visa_attended(mission_a)
    consul = make_staff(mission_a, "consul")
    login_with_second_factor(client_a, consul)
    base = f"/staff/visas/{application.reference}"
    answers = [
        client_a.post(f"{base}/extend/", {"until": "9999-12-31", "reason": "x" * 5000}),
        client_a.post(f"{base}/extend/", {"until": "0001-01-01", "reason": "Why\x00"}),
        client_a.post(f"{base}/extend/", {"until": "9999-12-31", "reason": "Long wait."}),
        client_a.post(f"{base}/recommend/", {"recommendation": "refuse", "grounds": ["\x00"]}),
        client_a.post(f"{base}/recommend/", {"recommendation": "refuse", "note": "n" * 9000}),
        client_a.post(f"{base}/matches/999999/", {"resolution": "cleared", "reason": "x"}),
    ]
    assert [answer.status_code for answer in answers] == [400, 400, 400, 400, 400, 404]
    with schema_context(mission_a.schema_name):
        application.refresh_from_db()
    assert application.status == VisaStatus.ATTENDED
    assert application.extended_due_on is None


def test_a_decision_with_dates_at_the_end_of_the_calendar_answers_400(client_a, mission_a):
    application = visa_recommended(mission_a)
    numbers_allocate(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "consul"))
    base = f"/staff/visas/{application.reference}/decide/"
    for dates in ({"valid_from": "9999-12-31"}, {"valid_until": "9999-12-31"}):
        answer = client_a.post(base, {"decision": "issue", **dates})
        assert answer.status_code == 400
    with schema_context(mission_a.schema_name):
        application.refresh_from_db()
    assert application.status == VisaStatus.RECOMMENDED


def test_the_queue_costs_the_same_whatever_its_length(client_a, mission_a, settled_keys):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    visa_complete(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    client_a.get("/staff/visas/")
    with CaptureQueriesContext(db) as one:
        assert client_a.get("/staff/visas/").status_code == 200
    visa_complete(mission_a)
    visa_submitted(mission_a)
    with CaptureQueriesContext(db) as three:
        page = client_a.get("/staff/visas/")
    assert len(texts_of(page.content, "tr")) == 4  # the header and three cases
    assert len(three.captured_queries) == len(one.captured_queries), [
        q["sql"][:120] for q in three.captured_queries
    ]


def test_hq_and_the_mission_admin_read_without_buttons(client_a, mission_a, hq_analyst):
    application = visa_submitted(mission_a)
    for reader in (hq_analyst, make_staff(mission_a, "mission_admin")):
        login_with_second_factor(client_a, reader)
        assert client_a.get("/staff/visas/").status_code == 200
        case = client_a.get(f"/staff/visas/{application.reference}/")
        assert case.status_code == 200
        assert "Completeness check" not in case.content.decode()
        assert client_a.post(f"/staff/visas/{application.reference}/screen/").status_code == 404


def test_the_case_and_queue_speak_to_staff(client_a, mission_a):
    """Staff wording for a complete case, the zone beside every date of the legal clock, the
    answers in words, and an unpaid fee with the way to the counter."""
    application = visa_complete(mission_a, surname="Aydin")
    with schema_context(mission_a.schema_name):
        VisaApplication.objects.filter(pk=application.pk).update(
            answers='{"first_visit": "yes", "course_start": "2027-01-05"}'
        )
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    zone = f"({mission_a.timezone})"
    queue = client_a.get("/staff/visas/").content
    row = next(text for text in texts_of(queue, "tr") if application.reference in text)
    assert "Complete: waiting for the appointment" in row
    assert "book your appointment" not in row
    assert zone in row
    html = client_a.get(f"/staff/visas/{application.reference}/").content.decode()
    assert "visas/staff.css" in html
    assert "Complete: waiting for the appointment" in html
    with schema_context(mission_a.schema_name):
        application.refresh_from_db()
    due = text_of(html, "dl", class_="legal-clock")
    assert zone in due
    assert f"{application.due_on:%-d %B %Y} {zone}" in due
    journey = text_of(html, "section", **{"aria-labelledby": "journey-heading"})
    assert "Is this your first visit?\nYes" in journey
    assert "The fee is not paid: take it at the counter." in html
    assert "The fee must be paid first." not in html


def test_a_booked_complete_case_shows_its_appointment_to_staff(in_mission_a, mission_a):
    from visas.selectors_casework import staff_status_label

    application = visa_complete(mission_a)
    starts = dt.datetime(2027, 1, 5, 9, 30, tzinfo=mission_a.zone)
    assert staff_status_label(application, starts) == (
        f"Complete: appointment on 5 January 2027, 09:30 ({mission_a.timezone})"
    )
    assert staff_status_label(application, None) == "Complete: waiting for the appointment"


# --- a step sent twice ------------------------------------------------------------------------


def _accepted(mission, application: VisaApplication) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The completeness check as its page posts it, every item and the form accepted."""
    codes = [item.code for item in casework.checklist_of(application)] + [FORM_ITEM]
    return {f"item_{code}": "accept" for code in codes}


def _with_matches(mission) -> VisaApplication:  # type: ignore[no-untyped-def]
    """Seen at the visit and screened: the demo watchlist's MUELLER HANS PETER to look at."""
    application = visa_attended(mission, surname="Müller", given_names="Hans Peter",
                                birth_date="1968-11-23", nationality="DEU")  # fmt: skip
    screening.screening_run(application=application, acting_user=make_staff(mission, "officer"))
    return application


def _open_match(application: VisaApplication) -> int:
    return ScreeningHit.objects.filter(
        screening__application_id=application.pk, resolution=""
    ).values_list("pk", flat=True)[0]


def _decidable(mission) -> VisaApplication:  # type: ignore[no-untyped-def]
    application = visa_recommended(mission)
    numbers_allocate(mission)
    return application


@dataclasses.dataclass(frozen=True)
class StaffStep:
    name: str
    prepare: Callable[[Mission], VisaApplication]  # a case due for the step
    role: str
    path: str  # after the case's path; "{match}": the case's first match not decided
    data: Callable[[Mission, VisaApplication], dict[str, Any]]
    done: str  # the case's status once the step is recorded

    def __str__(self) -> str:
        return self.name


STAFF_STEPS = [
    StaffStep("complete", visa_submitted, "officer", "completeness/", _accepted, "complete"),
    StaffStep("corrections", visa_submitted, "officer", "completeness/",
              lambda m, a: _accepted(m, a) | {f"item_{FORM_ITEM}": "correct",
                                              f"reason_{FORM_ITEM}": FORM_NOTE},
              "corrections"),
    StaffStep("attend", visa_paid, "officer", "attend/",
              lambda m, a: {"identity_confirmed": "on"}, "attended"),
    StaffStep("match", _with_matches, "officer", "matches/{match}/",
              lambda m, a: {"resolution": "cleared", "reason": "Born elsewhere."}, "attended"),
    StaffStep("recommend", visa_screened, "officer", "recommend/",
              lambda m, a: {"recommendation": "issue", "note": ""}, "recommended"),
    StaffStep("issue", _decidable, "consul", "decide/",
              lambda m, a: {"decision": "issue", "note": ""}, "issued"),
    StaffStep("refuse", visa_recommended, "consul", "decide/",
              lambda m, a: {"decision": "refuse", "grounds": ["purpose"], "note": ""},
              "refused"),
    StaffStep("send-back", visa_recommended, "consul", "decide/",
              lambda m, a: {"decision": "return", "note": "Compare the photo again."},
              "attended"),
    StaffStep("extend", visa_attended, "consul", "extend/",
              lambda m, a: {"until": (a.decision_due_on + dt.timedelta(days=5)).isoformat(),
                            "reason": "The employer's letter is being verified."},
              "attended"),
    StaffStep("appeal", visa_refused, "officer", "appeal/",
              lambda m, a: {"lodged_on": m.today().isoformat(),
                            "statement": "The invitation letter was misread."},
              "appealed"),
    StaffStep("uphold", lambda m: visa_appealed(m).application, "consul", "appeal/decide/",
              lambda m, a: {"decision": "uphold", "note": "The grounds stand."}, "refused"),
    StaffStep("grant", lambda m: visa_appealed(m).application, "consul", "appeal/decide/",
              lambda m, a: {"decision": "grant", "note": "The letter was misread."},
              "attended"),
    StaffStep("annul", visa_issued, "consul", "end/",
              lambda m, a: {"decision": "annul", "grounds": ["false_document"], "note": ""},
              "annulled"),
    StaffStep("revoke", visa_issued, "consul", "end/",
              lambda m, a: {"decision": "revoke", "grounds": ["alert"], "note": ""},
              "revoked"),
]  # fmt: skip


def _recorded_rows(mission, application: VisaApplication) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    """What a step records: the case's history, its appeals' and matches', its timeline, its
    events."""
    with schema_context(mission.schema_name):
        return (
            application.history.count(),
            Appeal.history.filter(application_id=application.pk).count(),
            ScreeningHit.history.filter(screening__application_id=application.pk).count(),
            application.steps.count(),
            OutboxEvent.objects.filter(aggregate_id=application.pk).count(),
        )


def _step_posted(client, mission, step: StaffStep):  # type: ignore[no-untyped-def]
    """A case due for `step`, its page, the step's path and what its form sends."""
    with schema_context(mission.schema_name):
        application = step.prepare(mission)
        application.refresh_from_db()
        data = step.data(mission, application)
        match = _open_match(application) if "{match}" in step.path else None
    case = f"/staff/visas/{application.reference}/"
    return application, case, case + step.path.format(match=match), data


@pytest.mark.parametrize("step", STAFF_STEPS, ids=str)
def test_every_staff_step_sent_twice_shows_the_case_as_it_now_stands(client_a, mission_a, step):
    # given a case due for the step, which its officer or consul records once
    application, case, path, data = _step_posted(client_a, mission_a, step)
    login_with_second_factor(client_a, make_staff(mission_a, step.role))
    assert client_a.post(path, data).status_code == 302
    recorded = _recorded_rows(mission_a, application)
    for language in ("en", "tr"):
        # when the same form comes again (a double click, a second tap on a slow link)
        again = client_a.post(path, data, HTTP_ACCEPT_LANGUAGE=language)
        # then it leads to the case as it stands, saying it was recorded already
        _told_calmly(client_a, again, case, language)
    # and nothing was recorded twice
    assert _recorded_rows(mission_a, application) == recorded
    assert _status(mission_a, application) == step.done


def _step(name: str) -> StaffStep:
    return next(step for step in STAFF_STEPS if step.name == name)


@pytest.mark.parametrize(
    ("name", "prepare", "role", "language", "refusal"),
    [
        ("attend", lambda m, staff: visa_submitted(m), "officer", "en",
         "The visit is recorded once, for a complete application."),
        ("issue", lambda m, staff: visa_attended(m), "consul", "tr",
         "Yalnızca önerilmiş bir başvuru karara bağlanır: başvuru eksiksiz olmalı, ziyarette"
         " görülmüş olmalı ve bir memur tarafından önerilmiş olmalı."),
        ("appeal", lambda m, staff: visa_attended(m), "officer", "en",
         "Only a refusal is appealed."),
        # refused by this consul: their own last move, but not the one this step makes
        ("annul", lambda m, staff: visa_refused(m, consul=staff), "consul", "tr",
         "Yalnızca verilmiş bir vize iptal edilebilir veya geri alınabilir."),
    ],
    ids=["attend", "issue", "appeal", "annul"],
)  # fmt: skip
def test_a_step_the_case_never_reached_is_still_refused(
    client_a, mission_a, name, prepare, role, language, refusal
):
    # given a case the step is not due for
    staff = make_staff(mission_a, role)
    step = dataclasses.replace(_step(name), prepare=lambda mission: prepare(mission, staff))
    application, _page, path, data = _step_posted(client_a, mission_a, step)
    recorded = _recorded_rows(mission_a, application)
    status = _status(mission_a, application)
    login_with_second_factor(client_a, staff)
    # when the step's form is sent for it (a forged or mistaken request)
    response = client_a.post(path, data, HTTP_ACCEPT_LANGUAGE=language)
    # then it is refused, saying why in the reader's language, and nothing changes
    assert response.status_code == 400
    assert texts_of(response.content, "li", class_="message error") == [refusal]
    assert not texts_of(response.content, "li", class_="message info")
    assert _recorded_rows(mission_a, application) == recorded
    assert _status(mission_a, application) == status


def test_deciding_an_appeal_there_is_none_of_is_still_not_found(client_a, mission_a):
    # given a refusal not appealed, and the consul who refused it
    consul = make_staff(mission_a, "consul")
    application = visa_refused(mission_a, consul=consul)
    login_with_second_factor(client_a, consul)
    # when an appeal's decision is sent for it
    response = client_a.post(
        f"/staff/visas/{application.reference}/appeal/decide/",
        {"decision": "uphold", "note": "The grounds stand."},
    )
    # then there is nothing to decide: not found, as before
    assert response.status_code == 404
    assert _status(mission_a, application) == VisaStatus.REFUSED


@pytest.mark.parametrize(
    ("name", "other", "language", "refusal"),
    [
        ("recommend", {"recommendation": "refuse", "grounds": ["purpose"], "note": ""}, "en",
         "A recommendation is made after the visit, once per examination."),
        ("issue", {"decision": "refuse", "grounds": ["purpose"], "note": ""}, "en",
         "Only a recommended application is decided: complete, seen at the visit and"
         " recommended by an officer."),
        ("match", {"resolution": "confirmed", "reason": "Same face."}, "tr",
         "Bu eşleşme zaten değerlendirildi."),
        ("uphold", {"decision": "grant", "note": "The letter was misread."}, "en", None),
    ],
    ids=["recommend", "decide", "match", "appeal"],
)  # fmt: skip
def test_another_persons_move_at_the_same_moment_is_not_taken_for_ones_own(
    client_a, mission_a, name, other, language, refusal
):
    # given a case whose step one officer (or consul) records
    step = _step(name)
    application, _page, path, data = _step_posted(client_a, mission_a, step)
    login_with_second_factor(client_a, make_staff(mission_a, step.role))
    assert client_a.post(path, data).status_code == 302
    recorded = _recorded_rows(mission_a, application)
    # when another, on the case as it was, sends the same step (their own choice)
    login_with_second_factor(client_a, make_staff(mission_a, step.role))
    response = client_a.post(path, other, HTTP_ACCEPT_LANGUAGE=language)
    # then it is refused, saying why (an appeal decided is not there to decide any more), and
    # the first one's record stands
    if refusal is None:
        assert response.status_code == 404
    else:
        assert response.status_code == 400
        assert texts_of(response.content, "li", class_="message error") == [refusal]
        assert not texts_of(response.content, "li", class_="message info")
    assert _recorded_rows(mission_a, application) == recorded
    assert _status(mission_a, application) == step.done


def test_a_second_click_read_before_the_first_committed_records_no_second_visit(
    client_a, mission_a, monkeypatch
):
    # given a paid case whose visit the officer records, and the case as a slow second click
    # read it, before the first one committed
    application = visa_paid(mission_a)
    with schema_context(mission_a.schema_name):
        before = VisaApplication.objects.get(pk=application.pk)
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    path = f"/staff/visas/{application.reference}/attend/"
    assert client_a.post(path, {"identity_confirmed": "on"}).status_code == 302
    recorded = _recorded_rows(mission_a, application)
    # when that second click arrives
    with monkeypatch.context() as patched:
        patched.setattr("visas.views_staff._case", lambda request, reference, action: before)
        again = client_a.post(path, {"identity_confirmed": "on"}, HTTP_ACCEPT_LANGUAGE="tr")
    # then it leads to the case as it stands, and nothing is recorded twice
    _told_calmly(client_a, again, f"/staff/visas/{application.reference}/", "tr")
    assert _recorded_rows(mission_a, application) == recorded
    with schema_context(mission_a.schema_name):
        assert VisaFingerprint.objects.filter(application_id=application.pk).count() == 2


# --- each note box's hint, linked for a screen reader ---------------------------------------------

HINT = {"en": "At most 2000 characters.", "tr": "En fazla 2000 karakter."}


def _boxes_described(html: str) -> list[tuple[str, list[str]]]:
    """Each note box on the page (its name) with what its aria-describedby names, read as the
    screen reader reads it: the text of each element named that exists on the page."""
    boxes = []
    for tag in re.findall(r"<textarea\b[^>]*>", html):
        attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        described = attributes.get("aria-describedby", "").split()
        boxes.append(
            (
                attributes["name"],
                [text for ref in described for text in texts_of(html, "span", id=ref)],
            )
        )
    return boxes


@pytest.mark.parametrize(
    ("prepare", "role", "boxes"),
    [
        (visa_submitted, "officer", 7),  # the completeness check: the form and each item
        (_with_matches, "officer", 2),  # a match's reason, the recommendation's note
        (visa_recommended, "consul", 2),  # the decision's note, the extension's reason
        (visa_refused, "officer", 1),  # the appeal's statement
        (lambda m: visa_appealed(m).application, "consul", 1),  # the appeal's decision
        (visa_issued, "consul", 1),  # the end of the visa
    ],
    ids=["completeness", "match-and-recommend", "decide-and-extend", "appeal", "appeal-decide",
         "end"],
)  # fmt: skip
def test_every_note_boxs_hint_is_what_it_is_described_by(client_a, mission_a, prepare, role, boxes):
    # given a case at the point where these boxes show
    with schema_context(mission_a.schema_name):
        application = prepare(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, role))
    for language in ("en", "tr"):
        # when its page is read in `language`
        html = client_a.get(
            f"/staff/visas/{application.reference}/", HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()
        # then each note box names the element holding its limit, which a screen reader reads
        described = _boxes_described(html)
        assert len(described) == boxes, described
        assert all(HINT[language] in texts for _name, texts in described), described


def test_a_refused_note_box_is_still_described_by_its_hint(client_a, mission_a):
    # given an attended case, whose recommendation's note is refused as too long
    application = visa_attended(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    response = client_a.post(
        f"/staff/visas/{application.reference}/recommend/",
        {"recommendation": "issue", "note": "x" * 2001},
        HTTP_ACCEPT_LANGUAGE="tr",
    )
    # then the box shown back with its text still names its limit for a screen reader
    assert response.status_code == 400
    described = dict(_boxes_described(response.content.decode()))
    assert HINT["tr"] in described["note"]
