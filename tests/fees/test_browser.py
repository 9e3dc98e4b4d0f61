"""In a real browser: cashiers at a Kuwait mission (KWD, 3 decimals) and a Tokyo mission (JPY,
0 decimals) take cash and print receipts whose barcodes scan back; a payer pays by card through
the test provider; a refund goes through with a consul's approval; the day closes and the
report shows it in local and base currency."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP
from django.db import connection
from pyzbar.pyzbar import decode

from consulate.kernel.actors import SYSTEM
from missions.models import Mission
from missions.services import mission_create
from tests.browser.conftest import (  # noqa: F401 - fixtures
    DESKTOP,
    PASSWORD,
    PHONE,
    in_own_browser_thread,
    live_server_url,
    screenshot,
    totp_code,
    url,
)
from tests.conftest import drop_mission, make_staff
from tests.factories import MissionParams
from tests.fees.factories import seed_fee_reference
from tests.fees.test_views import _pdf_images

pytestmark = pytest.mark.browser


def _staff(mission: Mission, role: str) -> tuple[Any, str]:
    user = make_staff(mission, role, email=f"{role}.{uuid.uuid4().hex[:8]}@example.org")
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    secret = base64.b32encode(secrets.token_bytes(20)).decode()
    TOTP.activate(user, secret)
    return user, secret


@pytest.fixture
def two_missions(committed_db: None) -> Iterator[dict[str, Any]]:
    seed_fee_reference()
    kuwait = mission_create(
        acting_user=SYSTEM,
        **MissionParams(
            code=f"kw{uuid.uuid4().hex[:8]}",
            name="Embassy in Kuwait City",
            kind="embassy",
            host_country="KW",
            city="Kuwait City",
            timezone="Asia/Kuwait",
            currency="KWD",
            languages=["ar", "tr", "en"],
            address="Block 1, Street 13\nKuwait City",
        ),
    )
    tokyo = mission_create(
        acting_user=SYSTEM,
        **MissionParams(
            code=f"jp{uuid.uuid4().hex[:8]}",
            name="Embassy in Tokyo",
            kind="embassy",
            host_country="JP",
            city="Tokyo",
            timezone="Asia/Tokyo",
            currency="JPY",
            languages=["ja", "tr", "en"],
        ),
    )
    connection.set_schema_to_public()
    try:
        yield {
            "kuwait": kuwait,
            "tokyo": tokyo,
            "kuwait_cashier": _staff(kuwait, "cashier"),
            "kuwait_consul": _staff(kuwait, "consul"),
            "tokyo_cashier": _staff(tokyo, "cashier"),
        }
    finally:
        users = [m.user for mission in (kuwait, tokyo) for m in mission.memberships.all()]
        for mission in (kuwait, tokyo):
            drop_mission(mission)
        for user in users:
            user.delete()


def log_in(tab: Any, build_url: Any, mission: Mission, user: Any, secret: str) -> None:
    tab.goto(build_url("/fees/counter/", mission=mission.code))
    tab.get_by_label("Email", exact=True).fill(user.email)
    tab.get_by_label("Password", exact=True).fill(PASSWORD)
    tab.get_by_role("button", name="Sign In").click()
    tab.wait_for_url("**/accounts/2fa/authenticate/**")
    tab.get_by_label("Code", exact=True).fill(totp_code(secret))
    tab.get_by_role("button", name="Sign In").click()
    tab.wait_for_url("**/fees/counter/")


def fetch_bytes(tab: Any, path: str) -> bytes:
    data = tab.evaluate(
        """async (u) => { const r = await fetch(u); const b = new Uint8Array(await r.arrayBuffer());
           let s = ''; for (const x of b) s += String.fromCharCode(x); return btoa(s); }""",
        path,
    )
    return base64.b64decode(data)


def take_cash_and_print(tab: Any, shot: Any, name: str) -> str:
    """At the counter: assess a passport application, take the whole fee in cash, print."""
    tab.get_by_label("Payer's name").fill("Ayşe Yılmaz")
    tab.get_by_label("Service").select_option("passport_application")
    tab.get_by_role("button", name="Assess fees").click()
    tab.wait_for_url("**/fees/assessments/*/")
    shot(tab, f"fees-{name}-assessed")
    tab.get_by_role("button", name="Take cash and issue receipt").click()
    # the amount read is shown back; the receipt is issued once the cashier confirms it
    shown = tab.locator("#confirm-amount").inner_text()
    shot(tab, f"fees-{name}-confirm")
    tab.get_by_role("button", name=f"Take {shown} and issue the receipt").click()
    message = tab.locator(".message.success").inner_text()
    assert "Receipt" in message
    shot(tab, f"fees-{name}-paid")
    number = tab.get_by_role("link", name="PDF").locator("xpath=..").locator("a").first.inner_text()
    pdf = fetch_bytes(tab, tab.get_by_role("link", name="PDF").get_attribute("href"))
    assert pdf.startswith(b"%PDF")
    scanned = {d.data.decode() for image in _pdf_images(pdf) for d in decode(image)}
    assert scanned == {number}
    return number


def test_money_day_at_two_missions(url, screenshot, two_missions):  # noqa: F811
    """Playwright's sync API refuses to start while another instance runs in the same thread
    (other test modules keep a session-wide browser open), so this one runs in its own thread
    with its own browser."""

    def body(browser) -> None:  # type: ignore[no-untyped-def]
        context = browser.new_context(viewport=DESKTOP, locale="en-GB")
        context.set_default_timeout(15_000)
        _money_day(context.new_page(), browser, url, screenshot, two_missions)

    in_own_browser_thread(body)


def _money_day(page, browser, url, screenshot, two_missions):  # noqa: F811
    kuwait, tokyo = two_missions["kuwait"], two_missions["tokyo"]
    cashier, cashier_secret = two_missions["kuwait_cashier"]

    # a cashier in Kuwait takes 33.900 KWD (3 decimals) in cash and prints the receipt
    log_in(page, url, kuwait, cashier, cashier_secret)
    screenshot(page, "fees-counter-kuwait")
    assert "KWD\xa033.900" in page.locator("main").inner_text()
    kuwait_number = take_cash_and_print(page, screenshot, "kuwait")
    assert kuwait_number.endswith("-000001")
    assert "KWD\xa033.900" in page.locator("main").inner_text()

    # a cashier in Tokyo takes 16,400 JPY (no decimals)
    tokyo_page = browser.new_context(viewport=DESKTOP, locale="en-GB").new_page()
    tokyo_user, tokyo_secret = two_missions["tokyo_cashier"]
    log_in(tokyo_page, url, tokyo, tokyo_user, tokyo_secret)
    take_cash_and_print(tokyo_page, screenshot, "tokyo")
    assert "¥16,400" in tokyo_page.locator("main").inner_text()

    # a payer pays another fee by card through the test provider
    page.goto(url("/fees/counter/", mission=kuwait.code))
    page.get_by_label("Payer's name").fill("John Smith")
    page.get_by_label("Service").select_option("visa")
    page.get_by_role("button", name="Assess fees").click()
    pay_link = page.locator("#pay-link").get_attribute("href")
    payer = browser.new_context(viewport=PHONE, locale="en-GB").new_page()
    payer.goto(pay_link)
    screenshot(payer, "fees-pay-link")
    payer.get_by_role("button", name="by card").click()
    payer.wait_for_url("**/test-provider/checkout/**")
    screenshot(payer, "fees-test-provider")
    payer.get_by_role("button", name="Pay", exact=True).click()
    payer.wait_for_url("**/pay/**")
    assert "Paid" in payer.locator("#payments").inner_text()
    screenshot(payer, "fees-card-paid")

    # the cashier asks to refund 5.000 KWD of the cash receipt; the consul approves it
    page.goto(url("/fees/day-close/", mission=kuwait.code))  # the drawer holds 33.900
    assert "KWD\xa033.900" in page.locator("main").inner_text()
    from django_tenants.utils import schema_context

    from fees.models import Receipt

    with schema_context(kuwait.schema_name):
        receipt_id = Receipt.objects.get(number=kuwait_number).pk
    page.goto(url(f"/fees/receipts/{receipt_id}/", mission=kuwait.code))
    page.get_by_label("Amount (KWD)").fill("5.000")
    page.get_by_label("Reason").fill("Charged express by mistake")
    page.get_by_role("button", name="Ask for a refund").click()
    assert "a consul must approve" in page.locator(".message").inner_text()
    consul, consul_secret = two_missions["kuwait_consul"]
    consul_page = browser.new_context(viewport=DESKTOP, locale="en-GB").new_page()
    log_in(consul_page, url, kuwait, consul, consul_secret)
    consul_page.goto(url("/fees/approvals/", mission=kuwait.code))
    screenshot(consul_page, "fees-approvals")
    consul_page.get_by_role("button", name="Approve refund").click()
    assert "Credit note" in consul_page.locator(".message.success").inner_text()

    # the day closes: 28.900 expected in the drawer, 28.900 counted
    page.goto(url("/fees/day-close/", mission=kuwait.code))
    assert "KWD\xa028.900" in page.locator("main").inner_text()
    page.get_by_label("Counted").fill("28.900")
    screenshot(page, "fees-day-close")
    page.get_by_role("button", name="Close the day").click()
    page.wait_for_url("**/fees/reports/**")
    report = page.locator("#revenue").inner_text()
    screenshot(page, "fees-report")
    # local and base currency: 33.900 KWD cash (the €95.00 fee) less 5.000 refunded (its share,
    # €14.01), 28.550 KWD by card (the €80.00 visa fee)
    assert "Cash\tKWD\xa028.900\t€80.99" in report
    assert "Card\tKWD\xa028.550\t€80.00" in report
    assert "Total collected" in report
    # and the closed day takes no more cash
    page.goto(url("/fees/counter/", mission=kuwait.code))
    page.get_by_label("Payer's name").fill("Late Comer")
    page.get_by_role("button", name="Assess fees").click()
    assert "closed" in page.locator(".message.error").inner_text()
