"""Amounts typed at the counter are read in the reader's locale (babel's separators: English
"1,234.50", Turkish "1.234,50") and the currency's decimals (JPY 0, EUR 2, KWD 3); anything the
two conventions read differently is refused with a message that names the currency and shows
how to type it; and the cash typed is shown back, to be confirmed, before a receipt exists."""

from __future__ import annotations

import re

import pytest
from django import forms
from django_tenants.utils import schema_context

from fees.forms import parse_amount
from fees.models import Receipt
from fees.money import Money
from missions.models import Mission
from tests.fees.conftest import assess, key, login
from tests.fees.pdf_text import pdf_text

pytestmark = pytest.mark.usefixtures("fee_reference")


@pytest.mark.parametrize(
    ("locale", "currency", "typed", "minor"),
    [
        # Tokyo: no decimals; "," groups thousands in English, "." in Turkish
        ("en", "JPY", "16,400", 16400),
        ("en", "JPY", "16400", 16400),
        ("en", "JPY", "1,048,200", 1048200),
        ("tr", "JPY", "16.400", 16400),
        ("tr", "JPY", "1.000", 1000),
        # Kuwait: three decimals, after "." in English and "," in Turkish
        ("en", "KWD", "48.200", 48200),
        ("en", "KWD", "1,048.200", 1048200),
        ("en", "KWD", "33.9", 33900),
        ("tr", "KWD", "48,200", 48200),
        ("tr", "KWD", "1.048,200", 1048200),
        # euros: two decimals
        ("en", "EUR", "95.00", 9500),
        ("en", "EUR", "1,234.5", 123450),
        ("en", "EUR", "1,000", 100000),
        ("tr", "EUR", "95,00", 9500),
        ("tr", "EUR", "1.234,5", 123450),
        ("tr", "EUR", "1.000", 100000),
        (" en", "EUR", "  95  ", 9500),
    ],
)
def test_amounts_are_read_in_the_readers_locale(locale, currency, typed, minor):
    assert parse_amount(typed, currency, locale.strip()) == Money(minor, currency)


@pytest.mark.parametrize(
    ("locale", "currency", "typed", "words"),
    [
        # the three: ¥1 or ¥1,000? KWD 48,200 or 48.200? and no "at most 0 decimals"
        ("en", "JPY", "1.000", ["could mean ¥1 or ¥1,000", "JPY", "1,234"]),
        ("en", "KWD", "48,200", ["could mean KWD\xa048,200.000 or KWD\xa048.200", "1,234.500"]),
        ("tr", "KWD", "48.200", ["KWD\xa048.200,000", "KWD\xa048,200", "1.234,500"]),
        ("tr", "JPY", "1,000", ["¥1", "¥1.000", "1.234"]),
        ("en", "EUR", "1.000", ["€1.00", "€1,000.00", "1,234.50"]),
        ("tr", "EUR", "1,000", ["€1,00", "€1.000,00", "1.234,50"]),
        # more decimals than the currency has
        ("en", "JPY", "16400.5", ["JPY amounts have no decimals", "1,234"]),
        ("en", "EUR", "1.234", ["EUR amounts have at most 2 decimals", "1,234.50"]),
        ("tr", "JPY", "16,400", ["JPY", "1.234"]),
        # the other convention's layout, signs, exponents, symbols, spaces
        ("en", "EUR", "95,00", ["EUR", "1,234.50"]),
        ("tr", "EUR", "95.00", ["EUR", "1.234,50"]),
        ("en", "KWD", "1.234,500", ["KWD", "1,234.500"]),
        ("en", "EUR", "1e3", ["EUR", "1,234.50"]),
        ("en", "EUR", "€95", ["EUR", "1,234.50"]),
        ("en", "JPY", "16 400", ["JPY", "1,234"]),
        ("en", "EUR", "-5", ["above zero"]),
        ("en", "EUR", "", ["EUR"]),
    ],
)
def test_what_could_be_misread_is_refused_with_the_currency_and_an_example(
    locale, currency, typed, words
):
    with pytest.raises(forms.ValidationError) as refused:
        parse_amount(typed, currency, locale)
    message = refused.value.messages[0]
    for word in words:
        assert word in message, (message, word)


# --- the cash form: shown back, then confirmed -------------------------------------------------

CONFIRM = re.compile(r'id="confirm-amount">([^<]+)<')
HIDDEN = re.compile(r'<input type="hidden" name="(idempotency_key|amount_minor)" value="([^"]*)">')


def _confirm_form(page: str) -> dict[str, str]:
    form = page[page.index('class="stack-form panel confirm-cash"') :]
    return dict(HIDDEN.findall(form[: form.index("</form>")]))


def _at(mission: Mission, currency: str) -> None:
    Mission.objects.filter(pk=mission.pk).update(currency=currency)


@pytest.mark.parametrize(
    ("language", "currency", "services", "typed", "refused", "shown"),
    [
        # Tokyo, ¥16,400 for a passport application
        ("en", "JPY", ["passport_application"], "16,400", "1.000", "¥16,400"),
        ("tr", "JPY", ["passport_application"], "16.400", "16,400", "¥16.400"),
        # Kuwait, KWD 48.200 for a passport application with express handling
        ("en", "KWD", ["passport_application", "express"], "48.200", "48,200", "KWD\xa048.200"),
        ("tr", "KWD", ["passport_application", "express"], "48,200", "48.200", "KWD\xa048,200"),
        # Berlin, €95.00
        ("en", "EUR", ["passport_application"], "95.00", "95,00", "€95.00"),
        ("tr", "EUR", ["passport_application"], "95,00", "95.00", "€95,00"),
    ],
)
def test_the_cashier_confirms_the_amount_read_before_a_receipt_is_issued(
    client_a, mission_a, cashier_a, language, currency, services, typed, refused, shown
):
    # given an open assessment at a mission keeping its accounts in `currency`
    _at(mission_a, currency)
    with schema_context(mission_a.schema_name):
        assessment = assess(cashier_a, services=services, payer_language=language)
    login(client_a, cashier_a)
    url = f"/fees/assessments/{assessment.pk}/"
    # the form is filled in with what is left to pay, as the reader types it
    page = client_a.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'name="amount" inputmode="decimal" autocomplete="off" value="{typed}"' in page
    # when the cashier types an amount the two conventions read differently
    response = client_a.post(
        f"{url}cash/", {"amount": refused, "idempotency_key": key()}, HTTP_ACCEPT_LANGUAGE=language
    )
    # then it is refused, what they typed is still in the field, and nothing is issued
    assert response.status_code == 400
    page = response.content.decode()
    # its reason beside the box, which names it (aria-describedby), not only above the page
    beside = page.split('<ul class="errorlist" id="amount_errors">', 1)[1].split("</ul>", 1)[0]
    assert currency in beside
    assert 'class="messages"' not in page
    assert (
        f'value="{refused}" aria-describedby="amount_errors amount_helptext" aria-invalid="true"'
        in page
    )
    # when they type it as their locale writes it
    the_key = key()
    response = client_a.post(
        f"{url}cash/", {"amount": typed, "idempotency_key": the_key}, HTTP_ACCEPT_LANGUAGE=language
    )
    # then the amount read is shown back, and no receipt exists yet
    assert response.status_code == 200
    page = response.content.decode()
    assert CONFIRM.search(page).group(1) == shown  # type: ignore[union-attr]
    with schema_context(mission_a.schema_name):
        assert not Receipt.objects.exists()
    # when they confirm it (twice: a double tap)
    form = _confirm_form(page)
    assert form["idempotency_key"] == the_key
    for _ in range(2):
        response = client_a.post(f"{url}cash/", form, HTTP_ACCEPT_LANGUAGE=language, follow=True)
    # then one receipt is issued for exactly that amount, and the PDF says so
    with schema_context(mission_a.schema_name):
        receipt = Receipt.objects.get()
    assert receipt.amount.format(language) == shown
    assert shown in response.content.decode()
    lines = pdf_text(client_a.get(f"/fees/receipts/{receipt.pk}/pdf/").content)
    assert shown.replace("\xa0", " ") in [line.replace("\xa0", " ") for line in lines]


def test_an_amount_that_could_not_be_taken_is_refused_before_it_is_shown_back(
    client_a, mission_a, cashier_a
):
    # given a passport application of €95.00 at alpha
    with schema_context(mission_a.schema_name):
        assessment = assess(cashier_a)
    login(client_a, cashier_a)
    # when the cashier types more than is due
    response = client_a.post(
        f"/fees/assessments/{assessment.pk}/cash/", {"amount": "95.01", "idempotency_key": key()}
    )
    # then they are told at once, not after confirming
    assert response.status_code == 400
    page = response.content.decode()
    assert "more than is due" in page
    assert "confirm-cash" not in page
