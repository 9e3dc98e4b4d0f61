"""Who may do what in fees is the permission table's answer, on pages, in services and in the
admin. The probe of issue 7: an HQ analyst reads every fees page of a mission and changes
nothing, whatever they post (the bank-transfer expectation they could create included)."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import HqRole
from consulate.kernel.errors import ApplicationError
from fees.models import Assessment, CreditNote, DayClose, Payment, Remittance, Waiver
from fees.money import Money
from fees.reference.models import ExchangeRate, FeeScheduleEntry
from fees.services import payment_bank_expect
from sync.models import OutboxEvent
from tests.factories import UserFactory
from tests.fees.conftest import assess, key, login, pay_cash
from tests.fees.factories import CreditNoteFactory, WaiverFactory
from tests.fees.test_webhooks import start_card

pytestmark = pytest.mark.usefixtures("fee_reference")


@pytest.fixture
def money_at_alpha(mission_a, cashier_a, officer_a):  # type: ignore[no-untyped-def]
    """An open assessment, a paid one with its receipt, a waiver and a refund waiting, and a
    card checkout in progress."""
    with schema_context(mission_a.schema_name):
        open_one = assess(cashier_a)
        paid = assess(cashier_a)
        payment = pay_cash(paid, cashier_a)
        card, _url = start_card(assess(cashier_a))
        return {
            "card": card,
            "open": open_one,
            "receipt": payment.receipt,
            "waiver": WaiverFactory(assessment=open_one, acting_user=officer_a),
            "note": CreditNoteFactory(receipt=payment.receipt, acting_user=officer_a),
        }


def _counts(mission) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with schema_context(mission.schema_name):
        return {
            "assessments": Assessment.objects.count(),
            "open": Assessment.objects.filter(status="open").count(),
            "payments": Payment.objects.count(),
            "waivers decided": Waiver.objects.exclude(status="requested").count(),
            "waivers": Waiver.objects.count(),
            "notes": CreditNote.objects.count(),
            "notes decided": CreditNote.objects.exclude(status="requested").count(),
            "days closed": DayClose.objects.count(),
            "remittances": Remittance.objects.count(),
            "events": OutboxEvent.objects.count(),
        }


def test_an_hq_analyst_reads_every_fees_page_and_changes_nothing(
    client_a, mission_a, hq_analyst, money_at_alpha
):
    # given an HQ analyst signed in at alpha, where money is moving
    login(client_a, hq_analyst)
    assessment, receipt = money_at_alpha["open"], money_at_alpha["receipt"]
    waiver, note = money_at_alpha["waiver"], money_at_alpha["note"]
    card = money_at_alpha["card"]
    before = _counts(mission_a)
    # when they read the pages
    reads = {
        "/fees/counter/": ("Assess fees",),
        f"/fees/assessments/{assessment.pk}/": (
            "Take cash",
            "Pay by bank transfer",
            "Ask for a waiver",
            "Cancel these fees",
        ),
        f"/fees/assessments/{card.assessment_id}/": ("Cancel the card payment",),
        "/fees/approvals/": ("Approve waiver", "Approve refund"),
        f"/fees/receipts/{receipt.pk}/": ("Ask for a refund",),
        "/fees/day-close/": ("Close the day",),
        "/fees/reports/": (),
        "/fees/remittance/": ("Record as owed to HQ",),
    }
    for url, offers in reads.items():
        response = client_a.get(url)
        # then they see them, without a button to change anything
        assert response.status_code == 200, url
        page = response.content.decode()
        for offer in offers:
            assert offer not in page, (url, offer)
    assert client_a.get(f"/fees/receipts/{receipt.pk}/pdf/").status_code == 200
    # and when they post what a writer would
    writes = {
        "/fees/counter/": {"payer_name": "X", "payer_language": "en", "service": "visa"},
        f"/fees/assessments/{assessment.pk}/cash/": {"amount": "1.00", "idempotency_key": key()},
        f"/fees/assessments/{assessment.pk}/bank-transfer/": {
            "amount": "95.00",
            "idempotency_key": key(),
        },
        f"/fees/assessments/{assessment.pk}/cancel/": {},
        f"/fees/payments/{card.pk}/cancel-card/": {},
        f"/fees/assessments/{assessment.pk}/waiver/": {
            "line": assessment.lines.get().pk,
            "category": "humanitarian",
            "reason": "x",
        },
        f"/fees/waivers/{waiver.pk}/decide/": {"decision": "approve"},
        f"/fees/receipts/{receipt.pk}/refund/": {"amount": "1.00", "reason": "x"},
        f"/fees/credit-notes/{note.pk}/decide/": {"decision": "approve"},
        "/fees/bank-transfers/": {
            "reference": "ALP26X",
            "amount": "1.00",
            "value_date": "2026-01-01",
            "bank_transaction_id": "B-1",
        },
        "/fees/day-close/": {},
        "/fees/remittance/?month=2026-01": {},
    }
    for url, data in writes.items():
        # then each is refused as a page that does not exist for them
        assert client_a.post(url, data).status_code == 404, url
    assert client_a.get("/fees/bank-transfers/").status_code == 404
    # and nothing changed at the mission, not even an outbox event
    assert _counts(mission_a) == before


def test_the_bank_transfer_expectation_refuses_the_analyst_in_the_service_too(
    in_mission_a, cashier_a, hq_analyst
):
    # given an open assessment (the page already hides and refuses the button)
    assessment = assess(cashier_a)
    # when the analyst calls the service directly, as the API or a script would
    with pytest.raises(ApplicationError) as refused:
        payment_bank_expect(
            assessment=assessment,
            amount=Money(9500, "EUR"),
            idempotency_key=key(),
            acting_user=hq_analyst,
        )
    # then the table refuses them and no transfer is expected
    assert refused.value.code.name == "NOT_ALLOWED"
    assert not Payment.objects.exists()


def test_staff_of_another_mission_learn_nothing(in_mission_a, cashier_a, cashier_b):
    assessment = assess(cashier_a)
    with pytest.raises(ApplicationError) as refused:
        payment_bank_expect(
            assessment=assessment,
            amount=Money(9500, "EUR"),
            idempotency_key=key(),
            acting_user=cashier_b,
        )
    assert refused.value.code.name == "NOT_FOUND"


def test_in_the_admin_the_analyst_reads_reference_data_and_writes_none(client_hq):
    # given an HQ analyst allowed into the admin, and an HQ admin
    analyst = UserFactory(hq_role=HqRole.ANALYST, is_staff=True)
    admin_user = UserFactory(hq_role=HqRole.ADMIN, is_staff=True)
    rate = ExchangeRate.objects.get(currency="JPY")
    entries = FeeScheduleEntry.objects.count()
    add = "/admin/fees_reference/feescheduleentry/add/"
    new_fee = {
        "service": "visa",
        "amount_minor": "9000",
        "currency": "EUR",
        "valid_from": "2027-01-01",
    }
    login(client_hq, analyst)
    # when the analyst opens the lists and tries to add or change
    assert client_hq.get("/admin/fees_reference/feescheduleentry/").status_code == 200
    assert client_hq.get("/admin/fees_reference/exchangerate/").status_code == 200
    assert client_hq.get(add).status_code == 403
    assert client_hq.post(add, new_fee).status_code == 403
    change = f"/admin/fees_reference/exchangerate/{rate.pk}/change/"
    assert client_hq.post(change, {"rate": "1", "source": "x"}).status_code == 403
    assert client_hq.post(f"/admin/fees_reference/exchangerate/{rate.pk}/delete/").status_code in (
        403,
        404,
    )
    # then nothing changed
    assert FeeScheduleEntry.objects.count() == entries
    rate.refresh_from_db()
    assert str(rate.rate) == "172.3500000000"
    # while the HQ admin publishes through the service, and still deletes nothing
    client_hq.logout()
    login(client_hq, admin_user)
    assert client_hq.post(add, new_fee).status_code == 302
    assert FeeScheduleEntry.objects.count() == entries + 1
    response = client_hq.post(change, {"rate": "180", "source": "correction"})
    assert response.status_code == 302
    rate.refresh_from_db()
    assert (str(rate.rate), rate.history.first().history_user_id) == (
        "180.0000000000",
        admin_user.pk,
    )
    assert client_hq.get(f"/admin/fees_reference/exchangerate/{rate.pk}/delete/").status_code in (
        403,
        404,
    )


def test_reverting_reference_data_from_its_history_goes_through_the_table(client_hq):
    # given a rate with a history, an HQ analyst and an HQ admin in the admin
    rate = ExchangeRate.objects.get(currency="JPY")
    version = rate.history.first()
    url = f"/admin/fees_reference/exchangerate/{rate.pk}/history/{version.history_id}/"
    data = {"rate": "1", "source": "revert"}
    # when the analyst posts the history form (which only asks for a view permission)
    login(client_hq, UserFactory(hq_role=HqRole.ANALYST, is_staff=True))
    # then it is refused and nothing changes
    assert client_hq.post(url, data).status_code == 403
    rate.refresh_from_db()
    assert str(rate.rate) == "172.3500000000"
    # and a fee schedule version is never rewritten, even by an HQ admin
    entry = FeeScheduleEntry.objects.get(service="visa", nationality="", visa_category="")
    client_hq.logout()
    login(client_hq, UserFactory(hq_role=HqRole.ADMIN, is_staff=True))
    entry_url = (
        f"/admin/fees_reference/feescheduleentry/{entry.pk}/history/"
        f"{entry.history.first().history_id}/"
    )
    response = client_hq.post(entry_url, {"service": "visa", "amount_minor": "1"})
    assert response.status_code in (302, 403)  # read-only fields: nothing to save, or refused
    entry.refresh_from_db()
    assert entry.amount_minor == 8000
