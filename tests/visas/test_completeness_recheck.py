"""The completeness re-check after corrections, through the officer's case page and the
applicant's status page in English and Turkish: what the last check accepted and has not
changed since keeps its acceptance ("Accepted on <day> by <officer>", on the mission's local
date, east and west of UTC), only what was sent back is decided again, a decision sent for a
kept acceptance is refused, and the check's refusals are named in an error summary at the top
of the page, each by its item and a link to its field."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import translation
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import User
from missions.models import Mission
from sync.models import OutboxEvent
from tests.conftest import MODEL_BACKEND, error_summary, make_staff, text_of, texts_of
from tests.missions.test_tenant_isolation import login_with_second_factor
from tests.passports.test_views import _told_calmly
from tests.visas.factories import corrections_send, visa_submitted
from tests.visas.factories_casework import accept_all
from visas.models import FORM_ITEM, ItemReview, ReviewStatus, Upload, VisaApplication, VisaStatus
from visas.services import application as applicant_services
from visas.services import casework

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

# The last check accepted the rest at this instant: late evening in UTC, already the next
# morning in Tokyo, still the afternoon in New York.
ACCEPTED_AT = dt.datetime(2026, 3, 9, 23, 30, tzinfo=dt.UTC)
ASKED = "The copy is cut off at the bottom."
# The passport copy's name, per language (the reference's translation).
COPY = {"en": "Copy of the passport's data page", "tr": "Pasaportun kimlik sayfasının kopyası"}
FORM = {"en": "The application form", "tr": "Başvuru formu"}


def _case(application: VisaApplication) -> str:
    return f"/staff/visas/{application.reference}/"


def _sent_back(
    mission: Mission, officer: User, *, replaced: tuple[str, ...] = ()
) -> VisaApplication:
    """Submitted; `officer` asked for a correction on the passport copy and accepted the rest
    (at `ACCEPTED_AT`); the applicant sent a new copy back (and a new file for each of
    `replaced`)."""
    application = visa_submitted(mission)
    with schema_context(mission.schema_name):
        decisions = accept_all(application) | {"passport_copy": (False, ASKED)}
        casework.completeness_review(
            application=application, decisions=decisions, acting_user=officer
        )
        ItemReview.objects.filter(
            application_id=application.pk, status=ReviewStatus.ACCEPTED
        ).update(updated_at=ACCEPTED_AT)
        application.refresh_from_db()
        return corrections_send(
            application,
            User.objects.get(pk=application.user_id),
            items=("passport_copy", *replaced),
        )


def _section(html: str) -> str:
    found = re.search(r'<section aria-labelledby="completeness-heading".*?</section>', html, re.S)
    assert found is not None
    return found.group(0)


def _choices(html: str) -> set[str]:
    """The items the completeness check offers a choice for."""
    return set(re.findall(r'<input type="radio" name="(item_[^"]+)"', _section(html)))


def _kept(html: str) -> list[str]:
    """What the completeness check says of each acceptance it keeps, in the page's order."""
    blocks = re.findall(r'<div class="field review-kept[^"]*".*?</div>', _section(html), re.S)
    return [text_of(block, "p") for block in blocks]


def _recorded(mission: Mission, application: VisaApplication) -> tuple[object, ...]:
    """What a check records: the case's status and history, its reviews' history, its events."""
    with schema_context(mission.schema_name):
        return (
            VisaApplication.objects.get(pk=application.pk).status,
            application.history.count(),
            ItemReview.history.filter(application_id=application.pk).count(),
            OutboxEvent.objects.filter(aggregate_id=application.pk).count(),
        )


# --- only what was sent back is decided again ------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "language", "day"),
    [
        ("Asia/Tokyo", "en", "10 March 2026"),  # east of UTC: already the next day
        ("America/New_York", "tr", "9 Mart 2026"),  # west of UTC: still the same day
        ("America/New_York", "en", "9 March 2026"),
    ],
)
def test_a_re_check_asks_only_what_was_sent_back(client_b, mission_b, zone, language, day):
    # given a mission in `zone`, and corrections on the passport copy sent back, the rest
    # accepted by one officer
    Mission.objects.filter(pk=mission_b.pk).update(timezone=zone)
    mission_b.refresh_from_db()
    first = make_staff(mission_b, "officer")
    application = _sent_back(mission_b, first)
    items = _items(mission_b, application)
    kept = [code for code in items if code != "passport_copy"]
    with translation.override(language):
        names = {FORM_ITEM: FORM[language]} | {
            code: str(item.label)  # type: ignore[attr-defined]
            for code, item in items.items()
        }
    who = first.get_full_name() or first.email
    # when another officer opens the case for the re-check
    login_with_second_factor(client_b, make_staff(mission_b, "officer"))
    html = client_b.get(_case(application), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    # then only the passport copy is offered a choice
    assert _choices(html) == {"item_passport_copy"}
    # and the form and every other item read as accepted, on the mission's day, by whom
    accepted = {
        "en": "{item}: Accepted on {day} by {who}",
        "tr": "{item}: {day} tarihinde {who} tarafından kabul edildi",
    }[language]
    assert _kept(html) == [
        accepted.format(item=names[code], day=day, who=who) for code in [FORM_ITEM, *kept]
    ]
    # when the officer accepts the new copy, deciding nothing else
    done = client_b.post(
        f"{_case(application)}completeness/",
        {"item_passport_copy": "accept"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    # then the application is complete, the other acceptances kept as they were
    assert done.status_code == 302
    with schema_context(mission_b.schema_name):
        application.refresh_from_db()
        assert application.status == VisaStatus.COMPLETE
        reviews = {r.item: r for r in ItemReview.objects.filter(application_id=application.pk)}
        assert {code: reviews[code].updated_at for code in [FORM_ITEM, *kept]} == dict.fromkeys(
            [FORM_ITEM, *kept], ACCEPTED_AT
        )
        assert {reviews[code].reviewed_by_id for code in [FORM_ITEM, *kept]} == {first.pk}
        assert reviews["passport_copy"].status == ReviewStatus.ACCEPTED
    # and the applicant's status page says so
    client_b.force_login(User.objects.get(pk=application.user_id), backend=MODEL_BACKEND)
    status = client_b.get(f"/visas/{application.reference}/", HTTP_ACCEPT_LANGUAGE=language)
    assert (
        text_of(status.content.decode(), "strong", class_="status status-complete")
        == {
            "en": "Complete: book your appointment",
            "tr": "Eksiksiz: randevunuzu alın",
        }[language]
    )


def _items(mission: Mission, application: VisaApplication) -> dict[str, object]:
    with schema_context(mission.schema_name):
        return {item.code: item for item in casework.checklist_of(application)}


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Accepted at the last check and not changed since: it stays accepted."),
        ("tr", "Son kontrolde kabul edildi ve o zamandan beri değişmedi: kabul edilmiş olarak"
               " kalır."),
    ],
)  # fmt: skip
def test_a_decision_sent_for_a_kept_acceptance_is_refused(client_a, mission_a, language, message):
    # given corrections on the passport copy sent back, the form accepted at the last check
    application = _sent_back(mission_a, make_staff(mission_a, "officer"))
    recorded = _recorded(mission_a, application)
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    # when a check comes that decides the form again (a page read before the last check, or
    # a forged request): a correction asked on it
    answer = client_a.post(
        f"{_case(application)}completeness/",
        {
            "item_passport_copy": "accept",
            f"item_{FORM_ITEM}": "correct",
            f"reason_{FORM_ITEM}": "Give your occupation again.",
        },
        HTTP_ACCEPT_LANGUAGE=language,
    )
    # then it is refused, naming the form and linking to where the page shows it as accepted
    assert answer.status_code == 400
    html = answer.content.decode()
    assert error_summary(html) == [(f"#id_item_{FORM_ITEM}", f"{FORM[language]}: {message}")]
    assert f'id="id_item_{FORM_ITEM}"' in _section(html)
    # and nothing changes
    assert _recorded(mission_a, application) == recorded


def test_the_re_check_sent_twice_shows_the_case_as_it_now_stands(client_a, mission_a):
    # given corrections sent back, and the officer's re-check accepting the new copy
    application = _sent_back(mission_a, make_staff(mission_a, "officer"))
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    path = f"{_case(application)}completeness/"
    assert client_a.post(path, {"item_passport_copy": "accept"}).status_code == 302
    recorded = _recorded(mission_a, application)
    for language in ("en", "tr"):
        # when the same form comes again (a double click, a tab left open)
        again = client_a.post(path, {"item_passport_copy": "accept"}, HTTP_ACCEPT_LANGUAGE=language)
        # then it leads to the case as it stands, saying it was recorded already
        _told_calmly(client_a, again, _case(application), language)
    assert _recorded(mission_a, application) == recorded
    assert recorded[0] == VisaStatus.COMPLETE


def test_an_accepted_item_whose_file_was_replaced_is_decided_again(
    client_a, mission_a, monkeypatch
):
    # given corrections on the passport copy sent back, and the travel insurance, accepted at
    # the last check, replaced since (no applicant's page replaces a file nobody asked for
    # today: the guard is switched off to make one)
    monkeypatch.setattr(applicant_services, "_require_item_asked", lambda *a, **kw: None)
    application = _sent_back(
        mission_a, make_staff(mission_a, "officer"), replaced=("travel_insurance",)
    )
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    # then the re-check asks about it again, beside the copy
    html = client_a.get(_case(application)).content.decode()
    assert _choices(html) == {"item_passport_copy", "item_travel_insurance"}
    # and accepting the copy alone leaves it undecided, named in the error summary
    answer = client_a.post(f"{_case(application)}completeness/", {"item_passport_copy": "accept"})
    assert answer.status_code == 400
    assert error_summary(answer.content.decode()) == [
        ("#id_item_travel_insurance",
         "Travel medical insurance: Accept this item or ask for a correction."),
    ]  # fmt: skip
    # and accepting both completes it
    done = client_a.post(
        f"{_case(application)}completeness/",
        {"item_passport_copy": "accept", "item_travel_insurance": "accept"},
    )
    assert done.status_code == 302
    with schema_context(mission_a.schema_name):
        assert VisaApplication.objects.get(pk=application.pk).status == VisaStatus.COMPLETE
        review = ItemReview.objects.get(application_id=application.pk, item="travel_insurance")
        assert review.upload == Upload.objects.get(
            application_id=application.pk, item="travel_insurance", is_current=True
        )


def test_the_rule_keeps_an_acceptance_while_its_file_is_the_one_looked_at():
    # given the last check's reviews: accepted on the file looked at, accepted with a file
    # replaced since, accepted with no file then or now, a correction, the form accepted
    current = {"same": Upload(pk=1), "replaced": Upload(pk=3), "new_file": Upload(pk=4)}
    reviews = [
        ItemReview(item="same", status=ReviewStatus.ACCEPTED, upload_id=1),
        ItemReview(item="replaced", status=ReviewStatus.ACCEPTED, upload_id=2),
        ItemReview(item="none", status=ReviewStatus.ACCEPTED, upload_id=None),
        ItemReview(item="new_file", status=ReviewStatus.ACCEPTED, upload_id=None),
        ItemReview(item="asked", status=ReviewStatus.CORRECTION, reason="Cut off."),
        ItemReview(item=FORM_ITEM, status=ReviewStatus.ACCEPTED),
    ]
    # when the re-check asks which it keeps
    kept = casework.acceptances_kept(reviews=reviews, current=current)
    # then those whose file is still the one looked at, and the form
    assert sorted(kept) == sorted(["same", "none", FORM_ITEM])


# --- the check's refusals named at the top of the page ---------------------------------------


@pytest.mark.parametrize(
    ("language", "missing", "long"),
    [
        ("en", "Say what to correct.", "Use at most 2000 characters."),
        ("tr", "Neyin düzeltileceğini yazın.", "En fazla 2000 karakter kullanın."),
    ],
)
def test_the_checks_refusals_are_named_by_item_at_the_top_of_the_page(
    client_a, mission_a, language, missing, long
):
    # given a submitted application and an officer
    application = visa_submitted(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    recorded = _recorded(mission_a, application)
    with schema_context(mission_a.schema_name):
        data = {f"item_{code}": "accept" for code in accept_all(application)}
    # when corrections are asked on the passport copy without a reason and on the form with
    # one too long
    data |= {
        "item_passport_copy": "correct",
        f"item_{FORM_ITEM}": "correct",
        f"reason_{FORM_ITEM}": "x" * 2001,
    }
    answer = client_a.post(
        f"{_case(application)}completeness/", data, HTTP_ACCEPT_LANGUAGE=language
    )
    # then the page's error summary names each by its item, linking to its box, in the page's
    # order, and no banner repeats the first
    assert answer.status_code == 400
    html = answer.content.decode()
    assert error_summary(html) == [
        (f"#id_reason_{FORM_ITEM}", f"{FORM[language]}: {long}"),
        ("#id_reason_passport_copy", f"{COPY[language]}: {missing}"),
    ]
    assert 'class="error-summary" role="alert" tabindex="-1" id="error-summary"' in html
    assert html.index('id="error-summary"') < html.index('id="checklist-heading"')
    assert 'id="id_reason_passport_copy"' in html
    assert not texts_of(html, "li", class_="message error")
    # and nothing is recorded
    assert _recorded(mission_a, application) == recorded


def test_a_date_the_form_cannot_read_is_named_in_theerror_summary(client_a, mission_a):
    # given a submitted application and an officer
    application = visa_submitted(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    # when corrections are asked with a date that is not one
    answer = client_a.post(
        f"{_case(application)}completeness/",
        {"item_passport_copy": "correct", "reason_passport_copy": ASKED, "due_on": "2026-02-30"},
        HTTP_ACCEPT_LANGUAGE="tr",
    )
    # then the summary names the date's field, in Turkish
    assert answer.status_code == 400
    [(href, text)] = error_summary(answer.content.decode())
    assert href == "#id_due_on"
    assert text.startswith("Düzeltmeler için son tarih (temsilciliğin yerel tarihi): ")
