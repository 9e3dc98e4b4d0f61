"""A fee is charged once per reference: a walk-in assessed at the counter with the reference of
a case whose fee is paid (or still open) is refused, the message beside the reference naming
the receipt (or the assessment to pay instead), in the reader's language, at Tokyo (JPY) and
New York (USD); another fee for the same reference is assessed; a cancelled assessment charges
nothing, nor one whose payments were refunded in full (a part refund still does); the
database refuses a second line of the same fee for the reference too, and lets a refunded
one be charged again."""

from __future__ import annotations

import re

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import translation
from django_tenants.utils import schema_context

from consulate.kernel import reference
from consulate.kernel.errors import ApplicationError
from fees.error_codes import FeeError
from fees.models import Assessment, FeeLine
from fees.reference.models import ServiceCode
from fees.services import assessment_cancel, credit_note_decide
from tests.conftest import text_of, texts_of
from tests.fees.conftest import assess, at_place, login, pay_cash
from tests.fees.factories import CreditNoteFactory

pytestmark = pytest.mark.usefixtures("fee_reference")

CASE = "P8RS6EN8AN"


def _case(cashier, **kwargs) -> Assessment:  # type: ignore[no-untyped-def]
    """Ayşe's passport application, assessed on her case (as the passports app does)."""
    return assess(
        cashier, subject_type="case", subject_ref=CASE, payer_name="Ayşe Yılmaz", **kwargs
    )


# a walk-in "Ali" charged the passport fee at the counter, quoting Ayşe's case
ALI_AT_THE_COUNTER = {
    "payer_name": "Ali",
    "payer_language": "en",
    "service": "passport_application",
    "reference": CASE,
}


def _refunded(receipt, parts: list[int], cashier, consul) -> None:  # type: ignore[no-untyped-def]
    """Credit notes of `parts` (minor units) against `receipt`, asked by the cashier and
    approved by the consul."""
    for part in parts:
        note = CreditNoteFactory(receipt=receipt, amount_minor=part, acting_user=cashier)
        credit_note_decide(note=note, approve=True, acting_user=consul)


def _fee_line_copied(line: FeeLine, *, to: Assessment) -> None:
    """Raw SQL adding `line`'s fee to the assessment `to`, past the service."""
    with transaction.atomic():
        connection.cursor().execute(
            "INSERT INTO fees_feeline (assessment_id, service, schedule_entry_id,"
            " base_amount_minor, base_currency, rate, rate_date, amount_minor, currency,"
            " created_at, updated_at) SELECT %s, service, schedule_entry_id, base_amount_minor,"
            " base_currency, rate, rate_date, amount_minor, currency, now(), now()"
            " FROM fees_feeline WHERE id = %s",
            [to.pk, line.pk],
        )


def _walk_in(services: list[str], ref: str = CASE):  # type: ignore[no-untyped-def]
    return {
        "subject_type": "walk_in",
        "subject_ref": ref,
        "payer_name": "Ali",
        "services": services,
    }


# --- the service --------------------------------------------------------------------------------


def test_a_paid_fee_is_not_charged_again_for_its_reference(in_mission_b, cashier_b):
    # given Ayşe's passport application paid at Tokyo
    receipt = pay_cash(_case(cashier_b), cashier_b).receipt
    # when a cashier assesses a walk-in "Ali" with her case's reference (in lower case)
    with pytest.raises(ApplicationError) as refused:
        assess(cashier_b, **_walk_in(["passport_application", "express"], ref=CASE.lower()))
    # then it is refused on the reference, naming the receipt and its day; nothing is charged
    day = reference.day_written_short(receipt.business_date)
    assert (refused.value.code, refused.value.field) == (FeeError.ALREADY_CHARGED, "subject_ref")
    assert str(refused.value.message) == (
        f"Already paid: receipt {receipt.number} on {day}, for Passport application "
        f"({CASE.lower()}). Only a fee not charged yet can be assessed for this reference."
    )
    assert Assessment.objects.count() == 1


def test_an_open_fee_is_paid_where_it_was_charged(in_mission_b, cashier_b):
    # given the case's fee assessed and not paid yet
    case = _case(cashier_b)
    # when it is assessed again at the counter, by a Turkish-speaking cashier
    with translation.override("tr"), pytest.raises(ApplicationError) as refused:
        assess(cashier_b, **_walk_in(["passport_application"]))
    # then the cashier is told to take the payment on that assessment
    with translation.override("tr"):
        day = reference.day_written_short(case.assessed_on)
    assert str(refused.value.message) == (
        f"{CASE} için {day} tarihinde zaten tahakkuk ettirildi, henüz ödenmedi: Pasaport "
        "başvurusu. Yeniden tahakkuk ettirmek yerine ödemeyi o tahakkuk üzerinden alın."
    )
    assert refused.value.details == {"assessment_id": case.pk}


def test_another_fee_for_the_reference_is_assessed(in_mission_b, cashier_b):
    # given the case's passport fee paid
    pay_cash(_case(cashier_b), cashier_b)
    # when a notarial act is assessed for the same reference
    other = assess(cashier_b, **_walk_in(["notarial_act"]))
    # then it is: a different fee
    assert [line.service for line in other.lines.all()] == ["notarial_act"]


def test_a_cancelled_assessment_charges_nothing(in_mission_b, cashier_b):
    # given the case's assessment cancelled before it was paid
    assessment_cancel(assessment=_case(cashier_b), acting_user=cashier_b)
    # when the fee is assessed again for the reference
    again = assess(cashier_b, **_walk_in(["passport_application"]))
    # then it is
    assert again.status == "open"


def test_one_booking_of_a_family_is_charged_for_each_person(in_mission_b, cashier_b):
    # given a family of three booked under one booking number, the first one's fee paid
    booking = "B7K2M9Q4"
    first = assess(cashier_b, **_walk_in(["passport_application"], ref=booking))
    pay_cash(first, cashier_b)
    # when the cashier charges the others quoting the same booking number
    others = [
        assess(cashier_b, **{**_walk_in(["passport_application"], ref=booking), "payer_name": n})
        for n in ("Zeynep", "Can")
    ]
    # then each is charged: a booking's number is not a case's, and each person pays their own
    assert [a.status for a in others] == ["open", "open"]
    assert FeeLine.objects.filter(assessment__subject_ref=booking).count() == 3


def test_the_database_refuses_a_fee_charged_twice_for_a_reference(in_mission_b, cashier_b):
    # given the case's fee, and another assessment of the reference for a notarial act
    case = _case(cashier_b)
    other = assess(cashier_b, **_walk_in(["notarial_act"]))
    line = case.lines.get()
    # when raw SQL adds the case's fee to the other assessment
    with pytest.raises(DatabaseError, match="is charged already"):
        _fee_line_copied(line, to=other)
    # then the reference still has the fee once
    assert FeeLine.objects.filter(service="passport_application").count() == 1


def test_a_fee_refunded_in_full_is_charged_again(in_mission_b, cashier_b, consul_b):
    # given Ayşe's fee taken in error and paid back in two credit notes
    case = _case(cashier_b)
    receipt = pay_cash(case, cashier_b).receipt
    half = receipt.amount_minor // 2
    _refunded(receipt, [half, receipt.amount_minor - half], cashier_b, consul_b)
    # when the cashier charges her fee again at the counter, quoting her case
    again = assess(cashier_b, **_walk_in(["passport_application"]))
    # then it is charged, as her case's: it now holds the fee, and a third charge is refused
    assert (again.status, again.subject_type) == ("open", "case")
    with pytest.raises(ApplicationError) as refused:
        assess(cashier_b, **_walk_in(["passport_application"]))
    assert refused.value.details == {"assessment_id": again.pk}


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Already paid: receipt {receipt} on {day}, for Passport application ({ref})."),
        ("tr", "Zaten ödendi: {day} tarihli {receipt} numaralı makbuz, Pasaport başvurusu"),
    ],
)
def test_a_part_refund_still_holds_the_fee(in_mission_b, cashier_b, consul_b, language, expected):
    # given Ayşe's fee paid, one yen short of all of it refunded, and the rest asked back but
    # not approved yet
    receipt = pay_cash(_case(cashier_b), cashier_b).receipt
    _refunded(receipt, [receipt.amount_minor - 1], cashier_b, consul_b)
    CreditNoteFactory(receipt=receipt, amount_minor=1, acting_user=cashier_b)
    # when the cashier charges her fee again
    with translation.override(language), pytest.raises(ApplicationError) as refused:
        assess(cashier_b, **_walk_in(["passport_application"]))
    # then it is refused, naming the receipt and its day
    with translation.override(language):
        day = reference.day_written_short(receipt.business_date)
        message = str(refused.value.message)
    assert message.startswith(expected.format(receipt=receipt.number, day=day, ref=CASE))
    assert Assessment.objects.count() == 1


def test_the_database_lets_a_fee_refunded_in_full_be_charged_again(
    in_mission_b, cashier_b, consul_b
):
    # given the case's fee paid and a notarial act assessed for its reference
    case = _case(cashier_b)
    receipt = pay_cash(case, cashier_b).receipt
    other = assess(cashier_b, **_walk_in(["notarial_act"]))
    line = case.lines.get()
    # when part of the fee is refunded, raw SQL cannot add the fee to the other assessment
    _refunded(receipt, [1], cashier_b, consul_b)
    with pytest.raises(DatabaseError, match="is charged already"):
        _fee_line_copied(line, to=other)
    # and when the rest is refunded, it can
    _refunded(receipt, [receipt.amount_minor - 1], cashier_b, consul_b)
    _fee_line_copied(line, to=other)
    assert FeeLine.objects.filter(service="passport_application").count() == 2


# --- the counter --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("place", "language", "start"),
    [
        ("tokyo", "en", "Already paid: receipt "),
        ("tokyo", "tr", "Zaten ödendi: "),
        ("new_york", "en", "Already paid: receipt "),
        ("new_york", "tr", "Zaten ödendi: "),
    ],
)
def test_the_counter_says_beside_the_reference_that_it_is_paid(request, place, language, start):
    mission, cashier, client = at_place(request, place)
    # given Ayşe's case paid
    with schema_context(mission.schema_name):
        receipt = pay_cash(_case(cashier), cashier).receipt
        with translation.override(language):
            day = reference.day_written_short(receipt.business_date)
    login(client, cashier)
    # when the cashier assesses a walk-in "Ali" with her reference
    response = client.post(
        "/fees/counter/",
        ALI_AT_THE_COUNTER,
        HTTP_ACCEPT_LANGUAGE=language,
    )
    # then it is refused beside the reference, which names the message, with the receipt
    assert response.status_code == 400
    page = response.content.decode()
    beside = text_of(page, "ul", id="id_reference_errors")
    assert beside.startswith(start)
    assert receipt.number in beside
    assert day in beside
    assert 'aria-describedby="id_reference_errors id_reference_helptext"' in page
    assert 'aria-invalid="true"' in page
    # and the assessment that charged it is listed below; no second one exists
    rows = texts_of(page, "tr")[-1:]
    assert CASE in rows[0]
    assert "Ayşe Yılmaz" in rows[0]
    with schema_context(mission.schema_name):
        assert Assessment.objects.count() == 1


@pytest.mark.parametrize(
    ("place", "language", "paid", "express"),
    [
        (
            "tokyo",
            "en",
            "Passport application, Express handling: paid, receipt {receipt} on {day}",
            "Express handling",
        ),
        (
            "tokyo",
            "tr",
            "Pasaport başvurusu, Hızlandırılmış işlem: ödendi, {day} tarihli {receipt} "
            "numaralı makbuz",
            "Hızlandırılmış işlem",
        ),
        (
            "new_york",
            "en",
            "Passport application, Express handling: paid, receipt {receipt} on {day}",
            "Express handling",
        ),
        (
            "new_york",
            "tr",
            "Pasaport başvurusu, Hızlandırılmış işlem: ödendi, {day} tarihli {receipt} "
            "numaralı makbuz",
            "Hızlandırılmış işlem",
        ),
    ],
)
def test_the_counter_shows_a_quoted_cases_fees_charged_and_offers_only_the_others(
    request, place, language, paid, express
):
    mission, cashier, client = at_place(request, place)
    # given Ayşe's passport fee paid with express handling
    with schema_context(mission.schema_name):
        case = _case(cashier, services=["passport_application", "express"])
        receipt = pay_cash(case, cashier).receipt
        with translation.override(language):
            day = reference.day_written_short(receipt.business_date)
    login(client, cashier)
    # when the cashier quotes her case at the counter (in lower case)
    response = client.get(
        "/fees/counter/", {"reference": CASE.lower()}, HTTP_ACCEPT_LANGUAGE=language
    )
    # then the page says which fees are charged, on which receipt and day
    assert response.status_code == 200
    page = response.content.decode()
    charged = text_of(page, "section", id="charged")
    assert paid.format(receipt=receipt.number, day=day) in charged
    assert f'href="/fees/assessments/{case.pk}/"' in page
    # and the form offers neither the passport fee nor express handling, but the others
    offered = text_of(page, "select", id="id_service")
    with translation.override(language):
        assert str(ServiceCode.PASSPORT_APPLICATION.label) not in offered
        assert str(ServiceCode.NOTARIAL_ACT.label) in offered
        labels = texts_of(page, "label")
        assert str(ServiceCode.COURIER.label) in labels
    assert express not in labels
    assert f'name="reference" value="{CASE.lower()}"' in page


@pytest.mark.parametrize(
    ("language", "nothing"),
    [
        ("en", "No fee is charged for this reference yet."),
        ("tr", "Bu referans için henüz tahakkuk ettirilmiş harç yok."),
    ],
)
def test_the_counter_offers_a_fee_refunded_in_full_again(
    mission_b, cashier_b, consul_b, client_b, language, nothing
):
    # given Ayşe's fee paid and refunded in full
    with schema_context(mission_b.schema_name):
        receipt = pay_cash(_case(cashier_b), cashier_b).receipt
        _refunded(receipt, [receipt.amount_minor], cashier_b, consul_b)
    login(client_b, cashier_b)
    # when the cashier quotes her case
    page = client_b.get(
        "/fees/counter/", {"reference": CASE}, HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    # then nothing is charged for it, and its fee is offered again
    assert nothing in text_of(page, "section", id="charged")
    assert 'value="passport_application"' in page


def test_the_counter_withholds_the_fee_it_refused_to_charge(mission_b, cashier_b, client_b):
    # given the case's fee assessed and not paid yet
    with schema_context(mission_b.schema_name):
        case = _case(cashier_b)
        day = reference.day_written_short(case.assessed_on)
    login(client_b, cashier_b)
    # when a cashier charges it again without quoting the case first
    response = client_b.post(
        "/fees/counter/",
        ALI_AT_THE_COUNTER,
    )
    # then the refused page lists it as charged and no longer offers it
    assert response.status_code == 400
    page = response.content.decode()
    assert f"Passport application: charged on {day}, not paid yet" in text_of(
        page, "section", id="charged"
    )
    assert 'value="passport_application"' not in page
    # nor falls on another fee: the cashier chooses one, and a second press charges nothing
    service = re.search(r'<select name="service".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', service)[0] == ""
    assert "selected" not in service
    again = client_b.post("/fees/counter/", {**ALI_AT_THE_COUNTER, "service": ""})
    assert again.status_code == 400
    with schema_context(mission_b.schema_name):
        assert Assessment.objects.filter(subject_ref=CASE).count() == 1
    # and the box that quotes a case holds its reference, as if it had been quoted first
    assert re.search(
        rf'<input[^>]*name="reference"[^>]*value="{case.subject_ref}"[^>]*id="quote_reference"',
        page,
    )


@pytest.mark.parametrize(
    ("quoted", "language", "why"),
    [
        ("P" * 65, "en", "Ensure this value has at most 64 characters (it has 65)."),
        ("P8RS\x00", "en", "Remove the control characters from this field."),
        ("P8RS\x00", "tr", "Bu alandaki kontrol karakterlerini silin."),
    ],
)
def test_a_reference_the_counter_cannot_quote_is_400_beside_it(
    mission_b, cashier_b, client_b, quoted, language, why
):
    login(client_b, cashier_b)
    # when a cashier quotes a reference too long, or with a NUL in it
    response = client_b.get("/fees/counter/", {"reference": quoted}, HTTP_ACCEPT_LANGUAGE=language)
    # then the page answers 400 with the reason beside the box, and quotes nothing
    assert response.status_code == 400
    page = response.content.decode()
    assert text_of(page, "ul", id="quote_reference_errors") == why
    assert 'id="charged"' not in page
