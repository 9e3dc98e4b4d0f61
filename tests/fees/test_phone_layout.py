"""The fees pages on a phone (390 px wide, Debian's chromium): nothing scrolls sideways, no word
is broken across lines (the revenue table used to wrap one letter per line), every action is on
the screen; in English and Turkish. Screenshots land in test-artifacts/screenshots/ (fees-phone-
*.png) to be looked at."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from consulate.kernel.actors import SYSTEM
from fees.money import Money
from fees.services import credit_note_request
from missions.services import mission_create
from tests.browser.conftest import (  # noqa: F401 - fixtures
    PHONE,
    in_own_browser_thread,
    live_server_url,
    screenshot,
    url,
)
from tests.conftest import drop_mission, make_staff
from tests.factories import MissionParams
from tests.fees.conftest import assess, login, pay_cash
from tests.fees.factories import WaiverFactory, seed_fee_reference
from tests.fees.test_webhooks import start_card

pytestmark = pytest.mark.browser

# A word broken across lines (a line may end after a hyphen, as in "Yılmaz-Öztürkoğlu"; links
# and e-mail addresses longer than a phone is wide may break anywhere).
BROKEN_WORDS = """() => {
  const broken = [];
  const cells = document.querySelectorAll(
    'main th, main td, main dt, main dd, main h1, main h2, main p, main button, main label, main li'
  );
  for (const cell of cells) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      const re = /[^\\s-]+-?/g;
      let m;
      while ((m = re.exec(node.textContent))) {
        if (m[0].includes('/') || m[0].includes('@')) continue;
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].filter(r => r.width > 0)
          .map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""

# References people read out or type (receipt numbers, transfer references) stay on one line.
REFS_BROKEN = """() => [...document.querySelectorAll('main .ref')]
  .filter(e => new Set([...e.getClientRects()].map(r => Math.round(r.top))).size > 1)
  .map(e => e.textContent)"""

OFF_SCREEN = """() => [...document.querySelectorAll('main button, main input, main select')]
  .filter(e => e.offsetParent !== null && !e.closest('.table-scroll'))
  .filter(e => { const r = e.getBoundingClientRect(); return r.left < 0 || r.right > innerWidth; })
  .map(e => e.name || e.textContent.trim())"""


@pytest.fixture
def kuwait(committed_db: None) -> Iterator[dict[str, Any]]:
    """A Kuwait mission (KWD) with a day of money: cash, a card checkout in progress, a
    waiver and a refund waiting, staff of each money role."""
    seed_fee_reference()
    mission = mission_create(
        acting_user=SYSTEM,
        **MissionParams(
            code=f"kw{uuid.uuid4().hex[:8]}",
            name="Embassy of the Republic in Kuwait City",
            kind="embassy",
            host_country="KW",
            city="Kuwait City",
            timezone="Asia/Kuwait",
            currency="KWD",
            languages=["ar", "tr", "en"],
            address="Block 1, Street 13\nKuwait City",
        ),
    )
    cashier = make_staff(mission, "cashier")
    consul = make_staff(mission, "consul")
    officer = make_staff(mission, "officer")
    with schema_context(mission.schema_name):
        services = ["passport_application", "express"]
        open_one = assess(cashier, services=services, payer_name="Ayşe Yılmaz-Öztürkoğlu")
        card, _url = start_card(assess(cashier, services=["visa", "courier"]))
        paid = pay_cash(assess(cashier, services=services), cashier)
        pay_cash(assess(cashier, services=["id_card"]), cashier)
        credit_note_request(
            receipt=paid.receipt,
            amount=Money(5000, "KWD"),
            reason="Express handling charged by mistake",
            acting_user=officer,
        )
        WaiverFactory(assessment=open_one, acting_user=officer)
        data = {
            "mission": mission,
            "cashier": cashier,
            "consul": consul,
            "open": open_one,
            "card": card,
            "receipt": paid.receipt,
        }
    connection.set_schema_to_public()
    try:
        yield data
    finally:
        users = [m.user for m in mission.memberships.all()]
        drop_mission(mission)
        for user in users:
            user.delete()


def _session_cookie(user: Any, base: str) -> dict[str, str]:
    """A signed-in session (second factor included) for `user`, as a browser cookie."""
    client = Client()
    login(client, user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": base,
    }


def _look(page: Any, shot: Callable[..., Any], name: str, problems: list[Any]) -> None:
    """Screenshot the page, then note what a person would trip over."""
    page.wait_for_load_state("networkidle")
    shot(page, f"fees-phone-{name}")
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if widths[0] > widths[1]:
        problems.append((name, "the page scrolls sideways", widths))
    if broken := page.evaluate(BROKEN_WORDS):
        problems.append((name, "words broken across lines", broken))
    if refs := page.evaluate(REFS_BROKEN):
        problems.append((name, "references broken across lines", refs))
    if off := page.evaluate(OFF_SCREEN):
        problems.append((name, "actions off the screen", off))
    _tables_fit(page, name, problems)


def _tables_fit(page: Any, name: str, problems: list[Any]) -> None:
    overflow = page.evaluate(
        "() => [...document.querySelectorAll('.table-scroll')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.getAttribute('aria-label'))"
    )
    if overflow:
        problems.append((name, "tables wider than the phone", overflow))


def test_the_fees_pages_read_well_on_a_phone(url, screenshot, kuwait):  # noqa: F811
    def body(browser) -> None:  # type: ignore[no-untyped-def]
        _walk(browser, url, screenshot, kuwait)

    in_own_browser_thread(body)


def _phone(browser: Any, base: str, user: Any, language: str) -> Any:
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="tr-TR" if language == "tr" else "en-GB",
        extra_http_headers={"Accept-Language": language},
    )
    context.set_default_timeout(15_000)
    if user is not None:
        context.add_cookies([_session_cookie(user, base)])
    return context.new_page()


def _walk(browser: Any, build: Callable[..., str], shot: Callable[..., Any], data: dict) -> None:
    mission = data["mission"]
    at = lambda path: build(path, mission=mission.code)  # noqa: E731
    problems: list[Any] = []
    for language in ("en", "tr"):
        cashier = _phone(browser, at("/"), data["cashier"], language)
        for name, path in (
            ("counter", "/fees/counter/"),
            # a case quoted: its fees charged listed above the form
            ("counter-quoted", f"/fees/counter/?reference={data['open'].subject_ref}"),
            ("assessment", f"/fees/assessments/{data['open'].pk}/"),
            ("card-in-progress", f"/fees/assessments/{data['card'].assessment_id}/"),
            ("receipt", f"/fees/receipts/{data['receipt'].pk}/"),
            ("bank-transfers", "/fees/bank-transfers/"),
            ("day-close", "/fees/day-close/"),
            ("report", "/fees/reports/"),
            # refused dates: each reason beside its field (a trial saw the label one letter a line)
            ("report-refused", "/fees/reports/?from=2026-02-31&to=2026-12-07"),
            ("remittance", "/fees/remittance/"),
        ):
            cashier.goto(at(path))
            _look(cashier, shot, f"{name}-{language}", problems)
        # the cash typed is shown back to be confirmed
        cashier.goto(at(f"/fees/assessments/{data['open'].pk}/"))
        cashier.locator("#amount").fill("48,200" if language == "tr" else "48.200")
        cashier.locator("form[action$='/cash/'] button[type=submit]").click()
        cashier.wait_for_selector("#confirm-amount")
        _look(cashier, shot, f"confirm-cash-{language}", problems)
        consul = _phone(browser, at("/"), data["consul"], language)
        consul.goto(at("/fees/approvals/"))
        _look(consul, shot, f"approvals-{language}", problems)
        payer = _phone(browser, at("/"), None, language)
        payer.goto(at(f"/pay/{data['card'].assessment.pay_token}/"))
        _look(payer, shot, f"pay-{language}", problems)
        # the payer who left the provider's page starts again; the old checkout is closed
        old = payer.locator(".card-in-progress a").last.get_attribute("href")
        payer.locator("form button[type=submit]").last.click()
        payer.wait_for_url("**/test-provider/checkout/**")
        _look(payer, shot, f"checkout-{language}", problems)
        payer.goto(at(old))
        _look(payer, shot, f"checkout-cancelled-{language}", problems)
        assert payer.locator(".notice[role=alert]").count() == 1
        assert payer.get_by_role("button").filter(has_text="Pay").count() == 0
        for page in (cashier, consul, payer):
            page.context.close()
    assert problems == [], "\n".join(map(str, problems))
