"""The sync pages on a phone (390 px) in English and Turkish: HQ's list of every mission's link
(the silent one first, marked in words), HQ's page of one mission (refusals in words, gaps,
held bundles), and a mission's own page with "Push now", "Export file" and "Import HQ's answer
file" (a wrong file refused in words), and the reference data's age. Screenshots go to
test-artifacts/screenshots/ to be looked at."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.utils import timezone
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import HqRole, User
from missions.models import Handoff, Membership, Mission
from missions.selectors import mission_hq
from sync.error_codes import BundleRefusal, SyncError
from sync.hq.models import HeldBundle, MissionLink, RefusedBundle
from sync.models import SyncLink
from tests.browser.conftest import unique_email
from tests.browser.test_missions_phone import (  # noqa: F401 - fixtures used by name
    _person,
    fits_the_screen,
    log_in,
    no_sideways_scroll,
    tokyo,
    turkish_phone,
)
from tests.factories import MembershipFactory, UserFactory
from tests.missions.sync_fakes import export_replaced

pytestmark = pytest.mark.browser


@pytest.fixture
def links(committed_db: None, tokyo: Mission) -> Iterator[Mission]:  # noqa: F811
    """Tokyo heard from 3 minutes ago, applied to 12,345, bundle 9 held after a gap, two
    refusals; alpha silent for five hours."""
    now = timezone.now()
    MissionLink.objects.update_or_create(
        mission=tokyo.code,
        defaults={
            "last_contact_at": now - dt.timedelta(minutes=3),
            "last_seq": 12345,
            "last_bundle_number": 7,
            "reference_version_acked": 4,
        },
    )
    MissionLink.objects.update_or_create(
        mission="alpha", defaults={"last_contact_at": now - dt.timedelta(hours=5), "last_seq": 80}
    )
    HeldBundle.objects.create(
        mission=tokyo.code, number=9, first_seq=12400, last_seq=12499, data=b"x", received_at=now
    )
    for reason in (BundleRefusal.BAD_SIGNATURE, BundleRefusal.REVOKED_KEY):
        RefusedBundle.objects.create(
            received_at=now, mission=tokyo.code, number=8, reason=reason.value,
            detail="", sha256="0" * 64, size=2048, source="file",
        )  # fmt: skip
    with schema_context(tokyo.schema_name):
        SyncLink.objects.filter(pk=1).update(
            last_attempt_at=now - dt.timedelta(minutes=2),
            last_success_at=now - dt.timedelta(hours=1),
            next_attempt_at=now + dt.timedelta(minutes=4),
            failures=2,
            last_error=SyncError.UNREACHABLE.value,
            reference_version=4,
            reference_signed_at=now - dt.timedelta(days=2),
            reference_received_at=now - dt.timedelta(days=1),
        )
    try:
        yield tokyo
    finally:
        MissionLink.objects.filter(mission__in=[tokyo.code, "alpha"]).delete()
        HeldBundle.objects.filter(mission=tokyo.code).delete()
        RefusedBundle.objects.filter(mission=tokyo.code).delete()


@pytest.fixture
def staff(committed_db: None, tokyo: Mission) -> Iterator[dict[str, tuple[User, str]]]:  # noqa: F811
    analyst = UserFactory(email=unique_email("analyst"), hq_role=HqRole.ANALYST)
    admin = UserFactory(email=unique_email("mission-admin.tokyo"))
    MembershipFactory(user=admin, mission=tokyo, role="mission_admin")
    made = {"analyst": (analyst, _person(analyst)), "admin": (admin, _person(admin))}
    try:
        yield made
    finally:
        for user, _secret in made.values():
            Handoff.objects.filter(user=user).delete()
            Membership.objects.filter(user=user).delete()
            Authenticator.objects.filter(user=user).delete()
            EmailAddress.objects.filter(user=user).delete()
            user.delete()


def _fits(page: Any) -> None:
    no_sideways_scroll(page)
    fits_the_screen(page.locator("main table tr, main dl > div, main .notice, main button"), page)


def test_hq_sync_pages_on_a_phone(phone_page, url, screenshot, links, staff):
    page = phone_page
    user, secret = staff["analyst"]
    log_in(page, url, mission=None, user=user, secret=secret)
    # the dashboard names the silent mission among its alerts and leads to the sync page
    page.goto(url("/hq/"))
    assert (
        "No contact with HQ for 5 hours" in page.locator("section.monitoring-alerts").inner_text()
    )
    page.get_by_role("link", name="Sync with missions").click()
    page.wait_for_url(url("/hq/sync/"))
    # the silent mission comes first, marked in words; Tokyo's figures in English
    rows = page.locator("tbody tr")
    assert "Silent" in rows.first.inner_text()
    assert "Consulate-General in Berlin" in rows.first.inner_text()
    tokyo_link = page.locator(f'a[href="/hq/sync/{links.code}/"]')
    tokyo_row = page.locator("tbody tr", has=tokyo_link)
    assert "12,345" in tokyo_row.inner_text()
    assert "12,346–12,399" in tokyo_row.inner_text()
    assert f"Times in {mission_hq().timezone}." in page.locator("main").inner_text()
    _fits(page)
    screenshot(page, "sync-hq-phone")
    # Tokyo's page: refusals in words, the gap and the held bundle
    tokyo_link.click()
    main = page.locator("main").inner_text()
    assert "the bundle was altered after it was signed" in main
    assert "12,346 to 12,399 (54 events)" in main
    _fits(page)
    screenshot(page, "sync-hq-mission-phone")


def test_hq_sync_pages_on_a_phone_in_turkish(turkish_phone, url, screenshot, links, staff):  # noqa: F811
    page = turkish_phone
    user, secret = staff["analyst"]
    log_in(page, url, mission=None, user=user, secret=secret)
    page.goto(url("/hq/sync/"))
    assert page.locator("h1").inner_text() == "Temsilciliklerle eşitleme"
    assert "Sessiz" in page.locator("tbody tr").first.inner_text()
    tokyo_row = page.locator("tbody tr", has=page.locator(f'a[href="/hq/sync/{links.code}/"]'))
    assert "12.345" in tokyo_row.inner_text()
    _fits(page)
    screenshot(page, "sync-hq-tr-phone")
    page.goto(url(f"/hq/sync/{links.code}/"))
    assert "imzalandıktan sonra değiştirilmiş" in page.locator("main").inner_text()
    _fits(page)
    screenshot(page, "sync-hq-mission-tr-phone")


def test_mission_sync_page_on_a_phone_pushes_and_exports(phone_page, url, screenshot, links, staff):
    page = phone_page
    user, secret = staff["admin"]
    log_in(page, url, mission=links.code, user=user, secret=secret)
    page.goto(url("/staff/", mission=links.code))
    page.get_by_role("link", name="Sync with HQ").click()
    page.wait_for_url(url("/staff/sync/", mission=links.code))
    main = page.locator("main").inner_text()
    # times in Tokyo's zone, named; the error in words; both buttons for the admin
    assert "Times in Asia/Tokyo." in main
    assert "HQ could not be reached" in main
    push = page.get_by_role("button", name="Push now")
    export = page.get_by_role("button", name="Export file")
    push.focus()
    assert page.evaluate("document.activeElement.textContent.trim()") == "Push now"
    _fits(page)
    screenshot(page, "sync-mission-phone")
    # the file downloads under the mission's name and day
    with export_replaced() as calls, page.expect_download() as download:
        export.click()
    assert download.value.suggested_filename == (
        f"sync-{links.code}-{links.today().isoformat()}.csb"
    )
    # pushing: the page comes back with HQ's answer
    with export_replaced() as calls:
        push.click()
        page.wait_for_url(url("/staff/sync/", mission=links.code))
    assert calls == [("push", links.code)]
    assert "Pushed to HQ" in page.locator(".messages").inner_text()
    screenshot(page, "sync-mission-pushed-phone")
    # the reference data's age, the one display; HQ's answer file: the wrong file says why
    assert "Reference data v4, received 1\xa0day ago" in page.locator("main").inner_text()
    page.set_input_files(
        "#sync-answer-file",
        files=[{"name": "answer.csb", "mimeType": "application/octet-stream", "buffer": b"no"}],
    )
    page.get_by_role("button", name="Import HQ's answer file").click()
    page.wait_for_url(url("/staff/sync/import/", mission=links.code))
    assert "HQ's answer cannot be read" in page.locator(".messages").inner_text()
    _fits(page)
    fits_the_screen(page.locator("main input[type=file], main label"), page)
    screenshot(page, "sync-mission-import-refused-phone")


def test_mission_sync_page_on_a_phone_in_turkish(turkish_phone, url, screenshot, links, staff):  # noqa: F811
    page = turkish_phone
    user, secret = staff["admin"]
    log_in(page, url, mission=links.code, user=user, secret=secret)
    page.goto(url("/staff/sync/", mission=links.code))
    assert page.locator("h1").inner_text() == "Merkez (HQ) ile eşitleme"
    assert "Merkez'e (HQ) ulaşılamadı" in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Şimdi gönder").is_visible()
    assert page.get_by_role("button", name="Merkezin yanıt dosyasını içe aktar").is_visible()
    _fits(page)
    screenshot(page, "sync-mission-tr-phone")
