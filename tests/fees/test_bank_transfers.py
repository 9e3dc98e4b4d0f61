"""The bank transfer page: one statement line matched by reference and exact amount, posted
once per bank transaction id; everything refused changes nothing. The reference itself is
issued on the assessment page ("Pay by bank transfer")."""

import re

import pytest
from django_tenants.utils import schema_context

from consulate.kernel.errors import ApplicationError
from fees.error_codes import FeeError
from fees.models import LedgerTransaction, Payment, Receipt
from fees.money import Money
from fees.selectors import account_balances, ledger_totals_per_currency
from fees.services.payment import payment_bank_expect, payment_bank_match
from missions.models import Mission
from tests.conftest import error_summary, make_staff, widget_refused
from tests.fees.conftest import assess, key, login, pay_cash

pytestmark = pytest.mark.usefixtures("fee_reference")

URL = "/fees/bank-transfers/"


def expect_transfer(mission, user, amount_minor=None):  # type: ignore[no-untyped-def]
    """An assessment and the transfer its payer was told to make (the whole fee)."""
    with schema_context(mission.schema_name):
        assessment = assess(user)
        amount = Money(amount_minor or assessment.lines.get().amount_minor, assessment.currency)
        return payment_bank_expect(
            assessment=assessment,
            amount=amount,
            idempotency_key=key(),
            acting_user=user,
        )


def statement_line(mission, payment, amount, bank_id="BNK-0001", **extra):  # type: ignore[no-untyped-def]
    return {
        "reference": payment.bank_reference,
        "amount": amount,
        "value_date": mission.today().isoformat(),
        "bank_transaction_id": bank_id,
        **extra,
    }


def bank_postings(mission) -> int:  # type: ignore[no-untyped-def]
    with schema_context(mission.schema_name):
        return LedgerTransaction.objects.filter(kind="payment_bank_transfer").count()


def test_a_matched_transfer_posts_once_and_balances_the_ledger(client_a, mission_a, cashier_a):
    # given a transfer of 95.00 EUR expected for a passport fee
    expected = expect_transfer(mission_a, cashier_a)
    login(client_a, cashier_a)
    page = client_a.get(URL).content.decode()
    assert expected.bank_reference in page
    # when the cashier records the statement line
    response = client_a.post(URL, statement_line(mission_a, expected, "95.00"), follow=True)
    # then it is paid and receipted once, posted to the bank, and the ledger balances
    assert "recorded. Receipt" in response.content.decode()
    with schema_context(mission_a.schema_name):
        paid = Payment.objects.get(pk=expected.pk)
        assert paid.status == "succeeded"
        assert paid.bank_transaction_id == "BNK-0001"
        assert paid.value_date == mission_a.today()
        assert paid.assessment.status == "settled"
        assert Receipt.objects.filter(payment=paid).count() == 1
        balances = account_balances()
        assert balances[("bank", "EUR")] == 9500
        assert balances[("receivable", "EUR")] == 0
        assert set(ledger_totals_per_currency().values()) == {0}
    assert bank_postings(mission_a) == 1


def test_the_same_bank_transaction_twice_posts_once(client_a, mission_a, cashier_a):
    # given a transfer already recorded from the statement
    expected = expect_transfer(mission_a, cashier_a)
    login(client_a, cashier_a)
    line = statement_line(mission_a, expected, "95.00", bank_id="BNK-77")
    client_a.post(URL, line)
    # when the same statement line is entered again (a double click, a re-imported statement)
    response = client_a.post(URL, line, follow=True)
    # then the cashier is told and nothing is posted twice
    assert "already recorded" in response.content.decode()
    assert bank_postings(mission_a) == 1
    with schema_context(mission_a.schema_name):
        assert Receipt.objects.count() == 1
        # and the same bank id with other details is refused, not posted
        with pytest.raises(ApplicationError) as refused:
            payment_bank_match(
                reference=expected.bank_reference,
                amount=Money(9000, "EUR"),
                bank_transaction_id="BNK-77",
                value_date=mission_a.today(),
                acting_user=cashier_a,
            )
        assert refused.value.code == FeeError.IDEMPOTENCY_MISMATCH
    assert bank_postings(mission_a) == 1


def test_an_unknown_reference_is_refused_at_its_field(client_a, mission_a, cashier_a):
    # given a transfer expected under another reference
    expected = expect_transfer(mission_a, cashier_a)
    login(client_a, cashier_a)
    # when a statement line quotes a reference nobody was given
    line = statement_line(mission_a, expected, "95.00", reference="ALP26NOSUCH")
    response = client_a.post(URL, line)
    # then the page says so next to the reference, and nothing changes
    page = response.content.decode()
    assert response.status_code == 400  # the error's http_status
    assert "No transfer is expected with this reference" in page
    assert 'aria-invalid="true"' in page
    assert bank_postings(mission_a) == 0
    with schema_context(mission_a.schema_name):
        assert Payment.objects.get(pk=expected.pk).status == "pending"


def test_an_overpaying_transfer_is_refused(client_a, mission_a, cashier_a):
    # given 95.00 EUR expected
    expected = expect_transfer(mission_a, cashier_a)
    login(client_a, cashier_a)
    # when the bank shows 96.00 EUR under its reference
    response = client_a.post(URL, statement_line(mission_a, expected, "96.00"))
    # then it is refused with the amounts and nothing is posted
    page = response.content.decode()
    assert "more than the" in page
    assert "Overpayments are refused" in page
    assert bank_postings(mission_a) == 0
    with schema_context(mission_a.schema_name):
        assert Payment.objects.get(pk=expected.pk).status == "pending"
        assert not Receipt.objects.exists()


def test_a_value_date_in_the_future_is_refused(client_a, mission_a, cashier_a):
    import datetime as dt

    expected = expect_transfer(mission_a, cashier_a)
    login(client_a, cashier_a)
    tomorrow = (mission_a.today() + dt.timedelta(days=1)).isoformat()
    response = client_a.post(URL, statement_line(mission_a, expected, "95.00", value_date=tomorrow))
    assert "cannot be in the future" in response.content.decode()
    assert bank_postings(mission_a) == 0


@pytest.mark.parametrize(
    ("currency", "bad"),
    [("KWD", "33.9001"), ("JPY", "16400.5")],
)
def test_amounts_are_parsed_with_the_currency_exponent(
    client_a, mission_a, cashier_a, currency, bad
):
    # given alpha keeps its accounts in KWD (3 decimals) or JPY (none)
    Mission.objects.filter(pk=mission_a.pk).update(currency=currency)
    login(client_a, cashier_a)
    form = {"reference": "ALP26X", "value_date": "2026-01-05", "bank_transaction_id": "B-1"}
    # when amounts with too many decimals, a sign, an exponent, or separators that could be
    # read two ways are entered
    for amount in (bad, "-5", "1e3", "1.234,5", "0", "1 234"):
        page = client_a.post(URL, {**form, "amount": amount}).content.decode()
        # then each is refused at the amount field with a message naming the currency
        assert 'id="id_amount"' in page
        assert "aria-invalid" in page
        errors = page.split('class="errorlist', 1)[1].split("</ul>", 1)[0]
        assert currency in errors or "above zero" in errors, amount
    ambiguous = "33,900" if currency == "KWD" else "16.000"
    page = client_a.post(URL, {**form, "amount": ambiguous}).content.decode()
    assert "could mean" in page
    # and a well-formed amount, as English writes it, gets as far as the reference
    good = "33.900" if currency == "KWD" else "16,400"
    page = client_a.post(URL, {**form, "amount": good}).content.decode()
    assert "No transfer is expected with this reference" in page
    assert bank_postings(mission_a) == 0


def test_staff_of_another_mission_and_officers_get_404(
    client_a, mission_a, mission_b, cashier_a, cashier_b
):
    # given a transfer expected at alpha
    expected = expect_transfer(mission_a, cashier_a)
    line = statement_line(mission_a, expected, "95.00")
    # when beta's cashier, or an officer of alpha, opens or posts the page at alpha
    for user in (cashier_b, make_staff(mission_a, "officer")):
        login(client_a, user)
        # then they get 404 and nothing is posted
        assert client_a.get(URL).status_code == 404
        assert client_a.post(URL, line).status_code == 404
    assert bank_postings(mission_a) == 0


def test_the_staff_nav_links_the_page(client_a, cashier_a):
    login(client_a, cashier_a)
    assert f'href="{URL}"' in client_a.get("/fees/counter/").content.decode()


# --- issuing the reference on the assessment page ------------------------------------------------

REFERENCE = re.compile(r'class="bank-reference" data-reference="([A-Z0-9]+)"')
AMOUNT = re.compile(r'class="bank-amount">([^<]+)<')
HIDDEN = re.compile(r'<input type="hidden" name="(idempotency_key|amount_minor)" value="([^"]*)">')


def bank_form(page: str) -> dict[str, str]:
    """The hidden fields of the "Pay by bank transfer" form, as the browser would send them."""
    form = page[page.index('/bank-transfer/" class="stack-form') :]
    return dict(HIDDEN.findall(form[: form.index("</form>")]))


def test_a_cashier_issues_a_reference_and_records_the_transfer_through_the_pages(
    client_a, mission_a, cashier_a
):
    # given a cashier who assesses a passport application at the counter
    login(client_a, cashier_a)
    response = client_a.post(
        "/fees/counter/",
        {"payer_name": "Ayşe Yılmaz", "payer_language": "tr", "service": "passport_application"},
    )
    assessment_url = response["Location"]
    page = client_a.get(assessment_url).content.decode()
    assert "Pay by bank transfer" in page
    # when they press "Pay by bank transfer"
    form = bank_form(page)
    assert form["amount_minor"] == "9500"
    page = client_a.post(f"{assessment_url}bank-transfer/", form, follow=True).content.decode()
    # then the page shows the reference and the amount to send, for the payer
    reference = REFERENCE.search(page).group(1)  # type: ignore[union-attr]
    assert reference.startswith("ALP")
    assert AMOUNT.search(page).group(1) == Money(9500, "EUR").format("en")  # type: ignore[union-attr]
    assert "Give the payer this reference and amount" in page
    assert "Pay by bank transfer" not in page  # nothing is left to pay meanwhile
    # and the transfer is expected on the bank-transfer page
    assert reference in client_a.get(URL).content.decode()
    # when the statement line arrives and the cashier records it
    line = {
        "reference": reference,
        "amount": "95.00",
        "value_date": mission_a.today().isoformat(),
        "bank_transaction_id": "BNK-PAGE-1",
    }
    recorded = client_a.post(URL, line, follow=True).content.decode()
    assert "recorded. Receipt" in recorded
    # then the assessment is settled, receipted once, and the ledger balances
    page = client_a.get(assessment_url).content.decode()
    assert "Settled" in page
    assert "Bank transfer expected" not in page
    with schema_context(mission_a.schema_name):
        paid = Payment.objects.get(bank_reference=reference)
        assert paid.status == "succeeded"
        assert paid.assessment.status == "settled"
        assert Receipt.objects.filter(payment=paid).count() == 1
        balances = account_balances()
        assert balances[("bank", "EUR")] == 9500
        assert balances[("receivable", "EUR")] == 0
        assert set(ledger_totals_per_currency().values()) == {0}
    assert bank_postings(mission_a) == 1


def test_pressing_pay_by_bank_transfer_twice_issues_one_reference(client_a, mission_a, cashier_a):
    # given an assessment page with the "Pay by bank transfer" form
    with schema_context(mission_a.schema_name):
        assessment = assess(cashier_a)
    login(client_a, cashier_a)
    url = f"/fees/assessments/{assessment.pk}/"
    form = bank_form(client_a.get(url).content.decode())
    # when it is sent twice (a double click), and once more from a page opened earlier
    client_a.post(f"{url}bank-transfer/", form)
    client_a.post(f"{url}bank-transfer/", form)
    page = client_a.post(
        f"{url}bank-transfer/", {**form, "idempotency_key": key()}, follow=True
    ).content.decode()
    # then one transfer is expected, with one reference, and no error is shown
    with schema_context(mission_a.schema_name):
        expected = Payment.objects.get(assessment=assessment)
    assert expected.status == "pending"
    assert REFERENCE.findall(page) == [expected.bank_reference]
    assert "more than is due" not in page


def test_the_service_reuses_the_expected_transfer_for_the_same_amount(in_mission_a, cashier_a):
    # given a transfer of 95.00 EUR expected for an assessment
    assessment = assess(cashier_a)
    amount = Money(9500, "EUR")
    first = payment_bank_expect(
        assessment=assessment,
        amount=amount,
        idempotency_key=key(),
        acting_user=cashier_a,
    )
    # when it is asked for again with another key
    again = payment_bank_expect(
        assessment=assessment,
        amount=amount,
        idempotency_key=key(),
        acting_user=cashier_a,
    )
    # then the same payment and reference answer, and nothing more is reserved
    assert again.pk == first.pk
    assert again.bank_reference == first.bank_reference
    assert Payment.objects.filter(assessment=assessment).count() == 1
    # and another amount is refused: the whole fee is already held for the transfer
    with pytest.raises(ApplicationError) as refused:
        payment_bank_expect(
            assessment=assessment,
            amount=Money(5000, "EUR"),
            idempotency_key=key(),
            acting_user=cashier_a,
        )
    assert refused.value.code == FeeError.OVERPAYMENT


def test_officers_and_other_missions_cannot_issue_a_reference(
    client_a, mission_a, cashier_a, cashier_b
):
    # given an open assessment at alpha
    with schema_context(mission_a.schema_name):
        assessment = assess(cashier_a)
    url = f"/fees/assessments/{assessment.pk}/"
    form = {"amount": "95.00", "idempotency_key": key()}
    # when an officer of alpha opens the page, or posts the form, and beta's cashier posts it
    officer = make_staff(mission_a, "officer")
    login(client_a, officer)
    assert "Pay by bank transfer" not in client_a.get(url).content.decode()
    for user in (officer, cashier_b):
        login(client_a, user)
        # then they get 404 and no transfer is expected
        assert client_a.post(f"{url}bank-transfer/", form).status_code == 404
    with schema_context(mission_a.schema_name):
        assert not Payment.objects.filter(assessment=assessment).exists()


def test_the_form_is_offered_only_while_something_is_left_to_pay(
    client_a, mission_a, consul_a, cashier_a
):
    # given an assessment paid in full in cash
    with schema_context(mission_a.schema_name):
        assessment = assess(cashier_a)
    login(client_a, consul_a)
    url = f"/fees/assessments/{assessment.pk}/"
    # a consul is offered the form while it is open
    assert "Pay by bank transfer" in client_a.get(url).content.decode()
    with schema_context(mission_a.schema_name):
        pay_cash(assessment, cashier_a)
    # then, once settled, it is no longer offered, and a stale form is refused with a message
    page = client_a.get(url).content.decode()
    assert "Pay by bank transfer" not in page
    response = client_a.post(
        f"{url}bank-transfer/", {"amount": "95.00", "idempotency_key": key()}, follow=True
    )
    assert "Nothing is left to pay" in response.content.decode()
    with schema_context(mission_a.schema_name):
        assert not Payment.objects.filter(method="bank_transfer").exists()


def test_a_refused_statement_line_is_named_at_the_top_and_tied_to_its_field(
    client_a, mission_a, cashier_a
):
    # given a transfer expected, and a statement line without the bank's transaction id
    expected = expect_transfer(mission_a, cashier_a)
    login(client_a, cashier_a)
    line = {**statement_line(mission_a, expected, "95.00", bank_id="BNK-78")}
    line["bank_transaction_id"] = ""
    response = client_a.post(URL, line)
    # then the summary links to the field, which says why and is tied to it; nothing posted
    assert response.status_code == 400
    [(link, text)] = error_summary(response.content.decode())
    assert link == "#id_bank_transaction_id"
    assert text.endswith(": This field is required.")
    assert widget_refused(response.content, "id_bank_transaction_id")
    assert bank_postings(mission_a) == 0
