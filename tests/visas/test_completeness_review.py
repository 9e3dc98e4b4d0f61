"""The officer's completeness review as a user trial found it, through the pages in English and
Turkish: direction controls refused in a note, no decision made for the officer, a long note
refused and kept in its box (never cut), a correction on an item HQ removed from the checklist
lapsing instead of blocking the sending, and a re-check told from a first check in the queue."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from sync.reference import reference_apply_local, reference_publish
from tests.conftest import MODEL_BACKEND, error_summary, make_staff, text_of, texts_of
from tests.missions.test_tenant_isolation import login_with_second_factor
from tests.visas.factories import corrections_send, pdf_file, visa_draft, visa_submitted
from tests.visas.factories_casework import accept_all, visa_attended
from tests.visas.test_casework_views import _form_correction_post
from visas.models import FORM_ITEM, ItemReview, VisaApplication, VisaStatus
from visas.reference.demo import CATEGORIES
from visas.reference.services import ItemInput, QuestionInput, category_save
from visas.services import application as applicant_services
from visas.services import casework

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


def _case(reference: str) -> str:
    return f"/staff/visas/{reference}/"


def _unchanged(mission, application: VisaApplication) -> None:  # type: ignore[no-untyped-def]
    """Still waiting for its check, with no review recorded."""
    with schema_context(mission.schema_name):
        assert VisaApplication.objects.get(pk=application.pk).status == VisaStatus.SUBMITTED
        assert not ItemReview.objects.filter(application_id=application.pk).exists()


def _documents_accepted(mission, application: VisaApplication) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The completeness form as posted with every document accepted (the form not decided)."""
    with schema_context(mission.schema_name):
        return {f"item_{item.code}": "accept" for item in casework.checklist_of(application)}


def _box(html: str, name: str) -> str:
    """What a reader sees of one field of the case page: its label, message, text and hint."""
    return text_of(html, "div", **{"data-field": name})


# --- nothing is decided for the officer -------------------------------------------------------


# What the page says of the form left undecided, per language: its label, the page's error
# summary, the message beside its choice.
UNDECIDED = {
    "en": ("The application form",
           "The application form: Accept this item or ask for a correction.",
           "Accept this item or ask for a correction."),
    "tr": ("Başvuru formu",
           "Başvuru formu: Bu öğeyi kabul edin ya da düzeltme isteyin.",
           "Bu öğeyi kabul edin ya da düzeltme isteyin."),
}  # fmt: skip


@pytest.mark.parametrize("language", list(UNDECIDED))
def test_no_decision_is_preselected_and_an_undecided_item_is_refused_beside_it(
    client_a, mission_a, language
):
    label, summary, beside = UNDECIDED[language]
    # given a submitted application and an officer
    application = visa_submitted(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    # the completeness check offers every choice, none of them made
    html = client_a.get(_case(application.reference), HTTP_ACCEPT_LANGUAGE=language)
    section = re.search(
        r'<section aria-labelledby="completeness-heading".*?</section>', html.content.decode(), re.S
    )
    assert section is not None
    radios = re.findall(r'<input type="radio" name="item_[^>]*>', section.group(0))
    assert len(radios) > 2
    assert not [radio for radio in radios if "checked" in radio]
    # when the officer accepts every document, types a note for the form and misses its click
    note = "Your surname is spelt differently in the passport."
    answer = client_a.post(
        f"{_case(application.reference)}completeness/",
        _documents_accepted(mission_a, application) | {f"reason_{FORM_ITEM}": note},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    # then nothing is recorded: the page names the form, says why beside its choice, keeps the note
    assert answer.status_code == 400
    page = answer.content.decode()
    assert error_summary(page) == [(f"#id_item_{FORM_ITEM}", summary)]
    assert not texts_of(page, "li", class_="message error")
    refused = [text for text in texts_of(page, "fieldset") if beside in text]
    assert [text.splitlines()[0] for text in refused] == [label]
    assert note in _box(page, f"reason_{FORM_ITEM}")
    _unchanged(mission_a, application)


# --- the queue tells a re-check from a first check -------------------------------------------


@pytest.mark.parametrize(
    ("language", "recheck", "first"),
    [
        ("en", "Corrections received: 2 items to re-check", "Waiting for the completeness check"),
        ("tr", "Düzeltmeler geldi: yeniden kontrol edilecek 2 öğe",
         "Eksiksizlik kontrolünü bekliyor"),
    ],
)  # fmt: skip
def test_the_queue_tells_a_re_check_from_a_first_check(
    client_a, mission_a, language, recheck, first
):
    # given an application waiting for its first check
    fresh = visa_submitted(mission_a, surname="First")
    # and one whose corrections, on the passport copy and on the form, came back
    again = visa_submitted(mission_a, surname="Again")
    with schema_context(mission_a.schema_name):
        decisions = accept_all(again) | {
            "passport_copy": (False, "The copy is cut off."),
            FORM_ITEM: (False, "Give your occupation as in your work permit."),
        }
        casework.completeness_review(
            application=again, decisions=decisions, acting_user=make_staff(mission_a, "officer")
        )
        again.refresh_from_db()
        user = User.objects.get(pk=again.user_id)
        applicant_services.application_draft_save(
            application=again, data={"occupation": "Civil engineer"}, acting_user=user
        )
        corrections_send(again, user)
    assert again.status == VisaStatus.SUBMITTED
    # when the officer opens the queue
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    queue = client_a.get("/staff/visas/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    # then the re-check says so in its status, in words a screen reader reads, with the count
    rows = texts_of(queue, "tr")
    again_row = next(row for row in rows if again.reference in row)
    fresh_row = next(row for row in rows if fresh.reference in row)
    assert recheck in again_row
    assert first in fresh_row
    assert recheck not in fresh_row
    # and the case says it too
    case = client_a.get(_case(again.reference), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert text_of(case, "strong", class_="status status-submitted") == recheck


# --- direction controls in a note ------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Remove the invisible direction-control characters from this field."),
        ("tr", "Bu alandaki görünmez yazı yönü kontrol karakterlerini silin."),
    ],
)
@pytest.mark.parametrize("control", ["\u202e", "\u202b", "\u2067", "\u2069"])
def test_a_note_with_a_direction_control_is_refused_beside_it(
    client_a, mission_a, language, message, control
):
    # given a submitted application and an officer
    application = visa_submitted(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    # when the officer's note on the form holds a control that would show it reversed
    note = f"Sign the form {control}on page 2{chr(0x202C)}."
    answer = _form_correction_post(
        client_a, mission_a, application, note=note, HTTP_ACCEPT_LANGUAGE=language
    )
    # then it is refused beside the note, nothing is kept, and the applicant is asked nothing
    assert answer.status_code == 400
    assert message in _box(answer.content.decode(), f"reason_{FORM_ITEM}")
    _unchanged(mission_a, application)


def test_a_right_to_left_note_with_its_marks_is_kept_as_typed(client_a, mission_a):
    # given a submitted application and an officer
    application = visa_submitted(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    # when the note names the host in Arabic, a right-to-left mark after the bracket
    note = "Host: شركة النيل (القاهرة)\u200f, street no. 12: give the full address."
    answer = _form_correction_post(client_a, mission_a, application, note=note)
    # then it is asked, and the case and the applicant's message show it as typed
    assert answer.status_code == 302
    for language in ("en", "tr"):
        html = client_a.get(_case(application.reference), HTTP_ACCEPT_LANGUAGE=language)
        assert note in html.content.decode()


# --- a long note is refused and kept, never cut ----------------------------------------------

# A pasted note one character over the limit.
LONG_NOTE = ("The bank statements must cover the last three months. " * 40)[:2001]
# What a box says of its limit, per language: its hint, and the refusal of a longer text.
LIMIT_SAID = {
    "en": ("At most 2000 characters.", "Use at most 2000 characters."),
    "tr": ("En fazla 2000 karakter.", "En fazla 2000 karakter kullanın."),
}


@pytest.mark.parametrize("language", list(LIMIT_SAID))
def test_a_long_correction_note_is_refused_and_kept_in_its_box(client_a, mission_a, language):
    hint, refusal = LIMIT_SAID[language]
    # given a submitted application and an officer
    application = visa_submitted(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    case = _case(application.reference)
    # the note boxes say their limit, and no box cuts what is pasted into it
    html = client_a.get(case, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert hint in _box(html, f"reason_{FORM_ITEM}")
    assert "maxlength" not in html
    # when the officer's note on the form is one character too long
    answer = _form_correction_post(
        client_a, mission_a, application, note=LONG_NOTE, HTTP_ACCEPT_LANGUAGE=language
    )
    # then it is refused beside the box, which still holds the whole note to shorten
    assert answer.status_code == 400
    page = answer.content.decode()
    assert refusal in _box(page, f"reason_{FORM_ITEM}")
    assert text_of(page, "textarea", name=f"reason_{FORM_ITEM}") == LONG_NOTE.strip()
    _unchanged(mission_a, application)


def _refused(client, path: str, data: dict[str, str], language: str) -> str:  # type: ignore[no-untyped-def]
    """The page answering `data` posted to `path`, refused (400)."""
    answer = client.post(path, data, HTTP_ACCEPT_LANGUAGE=language)
    assert answer.status_code == 400
    return str(answer.content.decode())


@pytest.mark.parametrize("language", list(LIMIT_SAID))
def test_a_long_recommendation_note_and_match_reason_are_kept_in_their_boxes(
    client_a, mission_a, language
):
    hint, refusal = LIMIT_SAID[language]
    # given an application seen at the visit, screened with a match to decide (the watchlist's
    # MUELLER HANS PETER)
    application = visa_attended(mission_a, surname="Müller", given_names="Hans Peter",
                                birth_date="1968-11-23", nationality="DEU")  # fmt: skip
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    case = _case(application.reference)
    assert client_a.post(f"{case}screen/").status_code == 302
    with schema_context(mission_a.schema_name):
        from visas.models import ScreeningHit

        hit = ScreeningHit.objects.filter(screening__application_id=application.pk).first()
    assert hit is not None
    html = client_a.get(case, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert "maxlength" not in html
    assert hint in text_of(html, "span", id=f"reason-{hit.pk}-help")
    # when the officer's reason for the match is one character too long
    page = _refused(
        client_a,
        f"{case}matches/{hit.pk}/",
        {"resolution": "cleared", "reason": LONG_NOTE},
        language,
    )
    # then it is refused beside the box, which holds the whole reason, the choice kept
    assert text_of(page, "span", id=f"reason-{hit.pk}-message") == refusal
    assert text_of(page, "textarea", id=f"reason-{hit.pk}") == LONG_NOTE.strip()
    assert re.search(rf'id="resolution-{hit.pk}-cleared" required checked', page)
    with schema_context(mission_a.schema_name):
        hit.refresh_from_db()
    assert hit.resolution == ""
    # when the match is decided and the recommendation's note is one character too long
    client_a.post(f"{case}matches/{hit.pk}/", {"resolution": "cleared", "reason": "Another man."})
    html = client_a.get(case, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert hint in _box(html, "note")
    page = _refused(
        client_a, f"{case}recommend/", {"recommendation": "issue", "note": LONG_NOTE}, language
    )
    # then it is refused beside the box, which holds the whole note
    assert refusal in _box(page, "note")
    assert text_of(page, "textarea", name="note") == LONG_NOTE.strip()
    with schema_context(mission_a.schema_name):
        assert VisaApplication.objects.get(pk=application.pk).status == VisaStatus.ATTENDED


@pytest.mark.parametrize("language", list(LIMIT_SAID))
def test_the_applicants_long_text_is_refused_and_kept_in_its_box(client_a, mission_a, language):
    hint, refusal = LIMIT_SAID[language]
    # given a draft and its owner
    application = visa_draft(mission_a)
    client_a.force_login(User.objects.get(pk=application.user_id), backend=MODEL_BACKEND)
    step = f"/visas/{application.reference}/edit/means/"
    # the box says its limit and cuts nothing
    html = client_a.get(step, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert hint in text_of(html, "span", id="id_means-help")
    assert "maxlength" not in _opening_tag(html, "textarea", "means")
    # when a pasted text is one character too long
    answer = client_a.post(step, {"means": LONG_NOTE, "next": "1"}, HTTP_ACCEPT_LANGUAGE=language)
    # then it is refused beside the box, which still holds all of it; nothing is saved
    assert answer.status_code == 400
    page = answer.content.decode()
    assert text_of(page, "span", id="id_means-message") == refusal
    assert text_of(page, "textarea", name="means") == LONG_NOTE.strip()
    with schema_context(mission_a.schema_name):
        assert VisaApplication.objects.get(pk=application.pk).means == application.means


def _opening_tag(html: str, tag: str, name: str) -> str:
    """The opening tag of the `tag` element named `name`."""
    found = re.search(rf'<{tag}[^>]*name="{name}"[^>]*>', html)
    assert found is not None
    return found.group(0)


# --- a correction on an item HQ removed lapses ------------------------------------------------


def _hq_changes(code: str, **changes: Any) -> None:
    """HQ saves the demo category `code` with `changes`; every mission applies the new version."""
    category = next(row for row in CATEGORIES if row.code == code)
    with schema_context("public"):
        category_save(category=dataclasses.replace(category, **changes), acting_user=SYSTEM)
        reference_publish(acting_user=SYSTEM)
        reference_apply_local()


def _hq_removes(code: str, item: str) -> None:
    """HQ removes `item` from the demo category `code`'s checklist."""
    category = next(row for row in CATEGORIES if row.code == code)
    _hq_changes(code, items=[entry for entry in category.items if entry.code != item])


def _corrections_on(mission, **asked: str) -> VisaApplication:  # type: ignore[no-untyped-def]
    """Submitted, the items `asked` (code: reason) asked to be corrected, the rest accepted."""
    application = visa_submitted(mission)
    with schema_context(mission.schema_name):
        decisions = accept_all(application) | {
            code: (False, reason) for code, reason in asked.items()
        }
        return casework.completeness_review(
            application=application, decisions=decisions, acting_user=make_staff(mission, "officer")
        )


def _copy_sent_again(client, mission, application: VisaApplication):  # type: ignore[no-untyped-def]
    """The owner uploads a new passport copy and sends the corrections from the status page."""
    client.force_login(User.objects.get(pk=application.user_id), backend=MODEL_BACKEND)
    copy = SimpleUploadedFile("copy.pdf", pdf_file())
    path = f"/visas/{application.reference}/"
    uploaded = client.post(f"{path}upload/passport_copy/", {"file": copy, "next": "status"})
    assert uploaded.status_code == 302
    return client.post(f"{path}corrections/")


@pytest.mark.parametrize(
    ("language", "document", "review", "recheck"),
    [
        ("en", "travel_insurance (no longer in the checklist)",
         "Correction asked for: Cover is below 30,000 euros. · withdrawn: HQ removed the item from"
         " the checklist",
         "Corrections received: 1 item to re-check"),
        ("tr", "travel_insurance (artık kontrol listesinde değil)",
         "Düzeltme istendi: Cover is below 30,000 euros. · geri çekildi: merkez (HQ) öğeyi kontrol"
         " listesinden çıkardı",
         "Düzeltmeler geldi: yeniden kontrol edilecek 1 öğe"),
    ],
)  # fmt: skip
def test_a_correction_on_an_item_hq_removed_lapses_and_shows_as_withdrawn(
    client_a, mission_a, language, document, review, recheck
):
    # given corrections asked on the travel insurance and on the passport copy
    application = _corrections_on(
        mission_a,
        travel_insurance="Cover is below 30,000 euros.",
        passport_copy="The copy is cut off.",
    )
    # when HQ removes the travel insurance from the tourism checklist meanwhile
    _hq_removes("tourism", "travel_insurance")
    # and the applicant sends a new passport copy from the status page
    sent = _copy_sent_again(client_a, mission_a, application)
    # then the corrections go: the lapsed one no longer stops them
    assert sent.status_code == 302, texts_of(sent.content, "li")
    with schema_context(mission_a.schema_name):
        assert VisaApplication.objects.get(pk=application.pk).status == VisaStatus.SUBMITTED
    # and the officer's case shows the correction as withdrawn, the queue one item to re-check
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    html = client_a.get(_case(application.reference), HTTP_ACCEPT_LANGUAGE=language)
    row = text_of(html.content.decode(), "tr", class_="withdrawn")
    assert document in row
    assert review in row
    queue = client_a.get("/staff/visas/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert recheck in next(text for text in texts_of(queue, "tr") if application.reference in text)
    # and the officer's check decides on the checklist as it is now: the new copy (the rest
    # stays accepted)
    with schema_context(mission_a.schema_name):
        application.refresh_from_db()
        done = casework.completeness_review(
            application=application,
            decisions={"passport_copy": (True, "")},
            acting_user=make_staff(mission_a, "officer"),
        )
    assert done.status == VisaStatus.COMPLETE


@pytest.mark.parametrize(
    ("language", "heading"),
    [("en", "Still needed before you can submit"), ("tr", "Göndermeden önce hâlâ gerekenler")],
)
def test_a_document_or_question_hq_adds_during_corrections_waits_for_the_next_check(
    client_a, mission_a, language, heading
):
    # given corrections asked on the passport copy only (the form accepted)
    application = _corrections_on(mission_a, passport_copy="The copy is cut off.")
    # when HQ adds a required document and a required question to the category meanwhile
    tourism = next(row for row in CATEGORIES if row.code == "tourism")
    _hq_changes(
        "tourism",
        items=[*tourism.items, ItemInput(code="return_ticket", label="Return ticket")],
        questions=[*tourism.questions, QuestionInput(code="purpose", label="Why now?")],
    )
    # then the applicant's pages ask for neither (neither can be given now)
    owner = User.objects.get(pk=application.user_id)
    client_a.force_login(owner, backend=MODEL_BACKEND)
    review = client_a.get(
        f"/visas/{application.reference}/edit/review/", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    assert heading not in review
    # and once the copy is sent again, the corrections go
    sent = _copy_sent_again(client_a, mission_a, application)
    assert sent.status_code == 302, texts_of(sent.content, "li")
    # and the officer's next check asks about the new document
    with schema_context(mission_a.schema_name):
        application.refresh_from_db()
        assert application.status == VisaStatus.SUBMITTED
        with pytest.raises(ApplicationError) as refused:
            casework.completeness_review(
                application=application,
                decisions={"passport_copy": (True, ""), "return_ticket": (True, "")},
                acting_user=make_staff(mission_a, "officer"),
            )
    assert refused.value.errors == {
        "item_return_ticket": ["Nothing was uploaded for this item: ask for it instead."]
    }
