"""In a real browser (Playwright, chromium) against a live server: a citizen books, gets the
e-mail with barcode and .ics, cancels from the e-mail and rebooks; an officer checks them in by
typing what the barcode scanner reads; a lottery runs and its draw is re-run from the seed."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import secrets

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django_tenants.utils import schema_context
from PIL import Image
from pyzbar.pyzbar import decode

from appointments import services
from appointments.models import Booking, BookingStatus, LotteryEntry, ReleaseMode, Slot
from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from missions.models import Membership
from tests.appointments.conftest import build_catalogue
from tests.browser.conftest import PASSWORD, totp_code, unique_email
from tests.conftest import make_staff

pytestmark = pytest.mark.browser


@pytest.fixture
def people(throwaway_mission):
    """A citizen and an officer (with TOTP) of the throwaway mission; removed afterwards."""
    citizen = User.objects.create_user(unique_email("citizen"), PASSWORD)
    EmailAddress.objects.create(user=citizen, email=citizen.email, verified=True, primary=True)
    officer = make_staff(throwaway_mission, "officer", email=unique_email("officer"))
    officer.set_password(PASSWORD)
    officer.save(update_fields=["password"])
    EmailAddress.objects.create(user=officer, email=officer.email, verified=True, primary=True)
    secret = base64.b32encode(secrets.token_bytes(20)).decode()
    TOTP.activate(officer, secret)
    try:
        yield citizen, officer, secret
    finally:
        Membership.objects.filter(user=officer).delete()
        User.objects.filter(pk__in=[citizen.pk, officer.pk]).delete()


def log_in(page, url, mission, user):
    page.goto(url("/accounts/login/", mission=mission))
    page.get_by_label("Email", exact=True).fill(user.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def book_first_time(page, url, mission):
    page.goto(url("/appointments/", mission=mission))
    page.get_by_role("link", name="Passport application").click()
    page.locator(".time-list a").first.click()
    page.get_by_label("Full name").fill("Ada Example")
    page.get_by_label("Date of birth").fill("1990-05-17")
    page.get_by_label("Passport or ID card number").fill("U 1234567")
    page.get_by_role("button", name="Book this appointment").click()
    page.wait_for_url("**/appointments/booking/**")
    return page.locator(".reference").inner_text()


def test_citizen_books_gets_the_email_cancels_and_rebooks_and_is_checked_in_by_barcode(
    page, phone_page, url, screenshot, throwaway_mission, people, eager_tasks
):
    citizen, officer, secret = people
    code = throwaway_mission.code
    with schema_context(throwaway_mission.schema_name):
        build_catalogue(days=5, min_notice_hours=0, cancel_cutoff_hours=0)

    # given a logged-in citizen, when they book on the calendar
    log_in(page, url, code, citizen)
    screenshot_page = page
    reference = book_first_time(page, url, code)
    assert "Your appointment is booked." in page.locator(".messages").inner_text()
    screenshot(screenshot_page, "appointments-booked-desktop")

    # then the e-mail carries the reference, a Code128 barcode of it and an .ics
    (message,) = [m for m in mail.outbox if reference in m.subject]
    parts = {p.get_content_type(): p for p in message.message().walk()}
    (scanned,) = decode(Image.open(io.BytesIO(parts["image/png"].get_payload(decode=True))))
    assert scanned.data.decode() == reference
    assert b"BEGIN:VEVENT" in parts["text/calendar"].get_payload(decode=True)

    # when they tap the cancel link of the e-mail and confirm
    link = next(w for w in message.body.split() if "/appointments/cancel/" in w)
    page.goto(url("/appointments/cancel/" + link.split("/appointments/cancel/")[1], mission=code))
    page.get_by_role("button", name="Yes, cancel it").click()
    assert "Your appointment is cancelled." in page.locator(".messages").inner_text()

    # then the same passport can book again at once
    log_in(phone_page, url, code, citizen)
    rebooked = book_first_time(phone_page, url, code)
    assert rebooked != reference
    screenshot(phone_page, "appointments-booked-phone")
    with schema_context(throwaway_mission.schema_name):
        assert Booking.objects.get(reference=reference).status == BookingStatus.CANCELLED
        booking = Booking.objects.get(reference=rebooked)
        # the day sheet is today's: bring the appointment to today for the check-in
        Slot.objects.filter(pk=booking.slot_id).update(
            starts_at=timezone.now() + dt.timedelta(minutes=5),
            ends_at=timezone.now() + dt.timedelta(minutes=35),
        )
    new_mail = next(m for m in mail.outbox if rebooked in m.subject)
    png = next(p for p in new_mail.message().walk() if p.get_content_type() == "image/png")
    (scanned,) = decode(Image.open(io.BytesIO(png.get_payload(decode=True))))

    # when the officer scans the barcode (a scanner types the text and Enter)
    officer_page = page
    officer_page.context.clear_cookies()
    log_in(officer_page, url, code, officer)
    officer_page.get_by_label("Code", exact=True).fill(totp_code(secret))
    officer_page.get_by_role("button", name="Sign In").click()
    officer_page.goto(url("/staff/appointments/", mission=code))
    field = officer_page.get_by_label("Booking reference")
    field.fill(scanned.data.decode())
    field.press("Enter")
    officer_page.wait_for_load_state()

    # then the citizen has queue ticket 1 and is on the day sheet as checked in
    assert "queue ticket 1" in officer_page.locator(".messages").inner_text()
    assert "Checked in" in officer_page.locator("table").inner_text()
    screenshot(officer_page, "appointments-day-sheet-desktop")
    with schema_context(throwaway_mission.schema_name):
        assert Booking.objects.get(reference=rebooked).status == BookingStatus.CHECKED_IN


def test_a_lottery_release_runs_and_its_draw_can_be_re_run_from_the_published_seed(
    page, url, screenshot, throwaway_mission, people
):
    citizen, _, _ = people
    code = throwaway_mission.code
    now = timezone.now()
    with schema_context(throwaway_mission.schema_name):
        service = build_catalogue(
            counters=1, days=6, code="visa", name="Visa submission",
            release_mode=ReleaseMode.LOTTERY,
        )  # fmt: skip
        lottery_round = services.lottery_round_create(
            service=service,
            period_start=(now + dt.timedelta(days=3)).date(),
            period_end=(now + dt.timedelta(days=3)).date(),
            window_opens_at=now - dt.timedelta(hours=1),
            window_closes_at=now + dt.timedelta(hours=1),
            acting_user=SYSTEM,
        )
        commitment = lottery_round.seed_commitment
        for n in range(8):  # others have entered already
            services.lottery_enter(
                lottery_round=lottery_round,
                person=services.PersonInput(f"Person {n}", dt.date(1980, 1, 1), f"L{n:07d}"),
                user=citizen, language="en", acting_user=citizen,
            )  # fmt: skip

    # given the round's page shows the seed commitment before the draw
    log_in(page, url, code, citizen)
    page.goto(url(f"/appointments/lottery/{lottery_round.pk}/", mission=code))
    assert commitment in page.locator("main").inner_text()
    # when the citizen registers
    page.get_by_label("Full name").fill("Ada Example")
    page.get_by_label("Date of birth").fill("1990-05-17")
    page.get_by_label("Passport or ID card number").fill("U1234567")
    page.get_by_role("button", name="Register").click()
    assert "Your ticket is" in page.locator(".messages").inner_text()

    # and the draw runs after registration closes
    with schema_context(throwaway_mission.schema_name):
        services.lottery_draw(
            lottery_round=lottery_round, acting_user=SYSTEM, now=lottery_round.window_closes_at
        )
    page.reload()
    screenshot(page, "appointments-lottery-drawn-desktop")

    # then anyone can re-run it from the page: the seed hashes to the commitment, and sorting
    # the tickets by SHA-256(seed:ticket) gives the published ranks
    text = page.locator("main").inner_text()
    seed = page.locator("dd code").nth(1).inner_text()
    assert hashlib.sha256(seed.encode()).hexdigest() == commitment
    rows = page.locator("table tbody tr").all_inner_texts()
    tickets = [row.split("\t")[1].strip() for row in rows]
    assert tickets == sorted(
        tickets, key=lambda t: hashlib.sha256(f"{seed}:{t}".encode()).hexdigest()
    )
    assert text.count("yes") == 6  # six places that day, nine entries
    out = io.StringIO()
    call_command("lottery_verify", code, str(lottery_round.pk), stdout=out)
    assert "OK: 9 entries" in out.getvalue()
    with schema_context(throwaway_mission.schema_name):
        assert LotteryEntry.objects.filter(booking__isnull=False).count() == 6


def test_the_mission_home_shows_appointments_on_a_phone(
    phone_page, url, screenshot, throwaway_mission
):
    from tests.browser.test_pages import assert_no_horizontal_scroll

    # given a scheduled service whose later days are not released yet
    with schema_context(throwaway_mission.schema_name):
        build_catalogue(release_mode=ReleaseMode.SCHEDULED, days=20, min_notice_hours=0)
    # when a visitor who is not logged in opens the mission's home page on a phone
    phone_page.goto(url("/", mission=throwaway_mission.code))
    # then an Appointments section lists the service with its next free time and next release
    section = phone_page.get_by_role("region", name="Appointments")
    card = section.get_by_role("listitem").filter(has_text="Passport application")
    assert "Next free time" in card.inner_text()
    assert "Next release of times" in card.inner_text()
    assert_no_horizontal_scroll(phone_page)
    screenshot(phone_page, "mission-home-appointments-phone")
    # and its link leads to the catalogue
    section.get_by_role("link", name="Book an appointment").click()
    phone_page.wait_for_url("**/appointments/")
