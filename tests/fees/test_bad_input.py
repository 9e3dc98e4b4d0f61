"""Bad input at the fees URLs gets a 4xx and changes nothing, never a 500: NUL bytes (refused by
the kernel's BadInputMiddleware before any view), dates at the ends of the calendar, a signed
webhook carrying a NUL."""

import pytest
from django_tenants.utils import schema_context

from fees.models import Assessment, CreditNote, DayClose, Payment, Waiver, WebhookEvent
from fees.providers.test_provider import event_body, sign
from tests.fees.conftest import assess, key, login, pay_cash
from tests.fees.test_webhooks import start_card

pytestmark = pytest.mark.usefixtures("fee_reference")


@pytest.fixture
def paid(mission_a, cashier_a):  # type: ignore[no-untyped-def]
    with schema_context(mission_a.schema_name):
        assessment = assess(cashier_a)
        payment = pay_cash(assessment, cashier_a, 5000)
        return assessment, payment.receipt


def test_a_nul_in_the_pay_link_is_400(client_a, paid):
    assessment, receipt = paid
    token = assessment.pay_token
    for path in (
        "/pay/%00/",
        f"/pay/{token[:5]}%00{token[5:]}/",
        f"/pay/{token}%00/receipts/{receipt.pk}.pdf",
        f"/pay/%00{token}/receipts/{receipt.pk}.pdf",
    ):
        assert client_a.get(path).status_code == 400, path
        assert client_a.post(path, {"idempotency_key": key()}).status_code == 400, path
    # the link itself still works
    assert client_a.get(f"/pay/{token}/").status_code == 200
    assert client_a.get(f"/pay/{token}/receipts/{receipt.pk}.pdf").status_code == 200


def test_a_nul_in_an_idempotency_key_is_400_and_charges_nothing(
    client_a, mission_a, cashier_a, paid
):
    assessment, _receipt = paid
    login(client_a, cashier_a)
    base = f"/fees/assessments/{assessment.pk}"
    for url in (f"{base}/cash/", f"{base}/bank-transfer/"):
        response = client_a.post(url, {"amount": "10.00", "idempotency_key": "k\x00ey"})
        assert response.status_code == 400, url
    # the payer's card page too (no sign-in)
    client_a.logout()
    response = client_a.post(f"/pay/{assessment.pay_token}/", {"idempotency_key": "\x00"})
    assert response.status_code == 400
    with schema_context(mission_a.schema_name):
        assert Payment.objects.filter(assessment=assessment).count() == 1  # the cash of the fixture


def test_a_missing_idempotency_key_has_its_own_code_on_the_page(client_a, cashier_a, paid):
    assessment, _receipt = paid
    login(client_a, cashier_a)
    response = client_a.post(f"/fees/assessments/{assessment.pk}/cash/", {"amount": "10.00"})
    assert response.status_code == 400
    assert "needs an idempotency key" in response.content.decode()


def test_a_nul_typed_at_the_counter_or_in_a_search_is_400(client_a, mission_a, cashier_a):
    login(client_a, cashier_a)
    typed = {
        "payer_name": "Ayşe",
        "payer_language": "tr",
        "service": "visa",
        "reference": "C-1\x00",
    }
    assert client_a.post("/fees/counter/", typed).status_code == 400
    assert client_a.get("/fees/counter/", {"q": "Ay\x00şe"}).status_code == 400
    bank = {
        "reference": "A\x00",
        "amount": "1",
        "value_date": "2026-01-01",
        "bank_transaction_id": "x",
    }
    assert client_a.post("/fees/bank-transfers/", bank).status_code == 400
    with schema_context(mission_a.schema_name):
        assert not Assessment.objects.exists()


@pytest.mark.parametrize(
    "query",
    [
        "/fees/day-close/?date=9999-12-31",
        "/fees/day-close/?date=0001-01-01",
        "/fees/day-close/?date=2026-02-30",
        "/fees/reports/?from=0001-01-01&to=9999-12-31",
        "/fees/remittance/?month=9999-12",
        "/fees/remittance/?month=0001-01",
        "/fees/remittance/?month=0001-01&format=csv",
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_read_not_crashed_on(client_a, consul_a, query):
    login(client_a, consul_a)
    assert client_a.get(query).status_code == 200


def test_a_signed_webhook_carrying_a_nul_is_refused_and_recorded_nowhere(
    client_b, mission_b, cashier_b
):
    with schema_context(mission_b.schema_name):
        payment, _ = start_card(assess(cashier_b))
    body = event_body(
        event_type="payment.succeeded",
        provider_ref=payment.provider_ref,
        amount_minor=payment.amount_minor,
        currency="JPY",
        event_id="evt_\x00",
    )
    response = client_b.post(
        "/fees/webhooks/test/",
        body,
        content_type="application/json",
        HTTP_X_TEST_SIGNATURE=sign(body),
    )
    assert 400 <= response.status_code < 500
    with schema_context(mission_b.schema_name):
        assert not WebhookEvent.objects.exists()
        assert Payment.objects.get(pk=payment.pk).status == "pending"


@pytest.mark.parametrize(
    ("language", "amounts", "message"),
    [
        ("en", ("1.00", "49.90"), "Use at most 2000 characters."),
        ("tr", ("1,00", "49,90"), "En fazla 2000 karakter kullanın."),
    ],
)
def test_a_reason_of_100_kb_is_refused_and_keeps_nothing(
    client_a, mission_a, cashier_a, paid, language, amounts, message
):
    # given a paid receipt, an open assessment and a drawer that holds the cash paid
    _assessment, receipt = paid
    with schema_context(mission_a.schema_name):
        other = assess(cashier_a)
        line = other.lines.get().pk
    login(client_a, cashier_a)
    reason = "B" * 100_000
    # when a refund, a waiver and the day's close each give 100,000 characters of reason
    answers = [
        client_a.post(
            f"/fees/receipts/{receipt.pk}/refund/",
            {"amount": amounts[0], "reason": reason},
            HTTP_ACCEPT_LANGUAGE=language,
        ),
        client_a.post(
            f"/fees/assessments/{other.pk}/waiver/",
            {"line": line, "category": "humanitarian", "reason": reason},
            HTTP_ACCEPT_LANGUAGE=language,
        ),
        client_a.post(
            "/fees/day-close/",
            {f"counted_{cashier_a.pk}": amounts[1], f"reason_{cashier_a.pk}": reason},
            HTTP_ACCEPT_LANGUAGE=language,
        ),
    ]
    # then each is a 400 that says why in the reader's language, without the text sent back
    for answer in answers:
        assert answer.status_code == 400
        page = answer.content.decode()
        assert message in page
        assert reason not in page
    # and nothing was asked for or closed
    with schema_context(mission_a.schema_name):
        assert not CreditNote.objects.exists()
        assert not Waiver.objects.exists()
        assert not DayClose.objects.exists()
    # while a reason of 2,000 characters is taken
    answer = client_a.post(
        f"/fees/receipts/{receipt.pk}/refund/", {"amount": "1.00", "reason": "B" * 2000}
    )
    assert answer.status_code == 302
    with schema_context(mission_a.schema_name):
        assert len(CreditNote.objects.get().reason) == 2000
