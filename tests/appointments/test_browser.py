"""In a real browser (Playwright, chromium) against a live server: a citizen books, gets the
e-mail with barcode and .ics, cancels from the e-mail and rebooks; an officer checks them in by
typing what the barcode scanner reads; a lottery runs and its draw is re-run from the seed."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import re
import secrets

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP
from django.core import mail
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone
from django_tenants.utils import schema_context
from PIL import Image
from pyzbar.pyzbar import decode

from appointments import services
from appointments.models import Booking, BookingStatus, LotteryEntry, ReleaseMode, Slot
from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from missions.models import Membership
from tests.appointments.conftest import build_catalogue, person
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
        # the day sheet is today's: bring the appointment to noon of the mission's today for
        # the check-in ("now + 5 minutes" is tomorrow there just before midnight)
        zone = throwaway_mission.zone
        noon = dt.datetime.combine(timezone.now().astimezone(zone).date(), dt.time(12), zone)
        Slot.objects.filter(pk=booking.slot_id).update(
            starts_at=noon, ends_at=noon + dt.timedelta(minutes=30)
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
    page, phone_page, url, screenshot, throwaway_mission, people
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
    assert "manage.py" not in text
    # and a citizen on a phone reads the steps and gets the program
    phone_page.goto(url(f"/appointments/lottery/{lottery_round.pk}/", mission=code))
    from tests.browser.test_pages import assert_no_horizontal_scroll

    assert_no_horizontal_scroll(phone_page)
    screenshot(phone_page, "appointments-lottery-drawn-phone")
    with phone_page.expect_download() as download:
        phone_page.get_by_role("link", name="Download the verification program").click()
    assert download.value.suggested_filename == f"verify-draw-{lottery_round.pk}.py"
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


PHONE_WIDTH = 390


def _book(service, slot, user, number):
    return services.booking_create(
        slot_id=slot.pk, service=service, persons=[person(number)], user=user, language="en",
        acting_user=user,
    )  # fmt: skip


def _inside_the_phone(locator) -> None:
    """The element is on screen sideways: a person can read it and tap it without scrolling
    the page sideways."""
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE_WIDTH + 0.5, box


@pytest.fixture
def admin(throwaway_mission):
    """A mission admin (with TOTP) of the throwaway mission; removed afterwards."""
    user = make_staff(throwaway_mission, "mission_admin", email=unique_email("admin"))
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    secret = base64.b32encode(secrets.token_bytes(20)).decode()
    TOTP.activate(user, secret)
    try:
        yield user, secret
    finally:
        Membership.objects.filter(user=user).delete()
        User.objects.filter(pk=user.pk).delete()


def test_a_citizen_and_the_mission_admin_get_through_their_pages_on_a_phone(
    phone_page, url, screenshot, throwaway_mission, people, admin
):
    from tests.browser.test_pages import assert_no_horizontal_scroll

    citizen, _, _ = people
    staff, secret = admin
    code = throwaway_mission.code
    page = phone_page
    with schema_context(throwaway_mission.schema_name):
        build_catalogue(
            code="civil-registration", name="Civil registration (birth, marriage)", days=5,
            min_notice_hours=0,
        )  # fmt: skip
        # 45 days of times from tomorrow (today, late in the day, has fewer than its six), made
        # after the other service (whose opening hours would add today's times to it): the
        # calendar must not list them all before the first time
        service = build_catalogue(
            days=45, horizon_days=60, min_notice_hours=0, cancel_cutoff_hours=0,
            name_tr="Pasaport başvurusu", start=throwaway_mission.today() + dt.timedelta(days=1),
        )  # fmt: skip

    # the catalogue
    log_in(page, url, code, citizen)
    page.goto(url("/appointments/", mission=code))
    assert_no_horizontal_scroll(page)
    screenshot(page, "appointments-1-catalogue-phone")

    # a service's calendar: the first day's times are on the first screen
    page.get_by_role("link", name="Passport application").click()
    first_time = page.locator(".time-list a").first
    box = first_time.bounding_box()
    assert box["y"] + box["height"] <= 844, f"the first time is below the first screen: {box}"
    assert page.locator(".time-list a").count() == 6
    assert_no_horizontal_scroll(page)
    screenshot(page, "appointments-2-calendar-phone")
    # another day is one choice away, and the next day one tap
    page.get_by_role("link", name=re.compile("→")).click()
    assert "Times on" in page.locator("#times-heading").inner_text()
    page.get_by_label("Day", exact=True).select_option(index=10)
    page.get_by_role("button", name="Show times").click()
    assert page.locator(".time-list a").count() == 6

    # the booking form and the confirmation
    page.locator(".time-list a").first.click()
    assert_no_horizontal_scroll(page)
    screenshot(page, "appointments-3-booking-form-phone")
    page.get_by_label("Full name").fill("Ada Example")
    page.get_by_label("Date of birth").fill("1990-05-17")
    page.get_by_label("Passport or ID card number").fill("U 1234567")
    page.get_by_role("button", name="Book this appointment").click()
    page.wait_for_url("**/appointments/booking/**")
    reference = page.locator(".reference").inner_text()
    assert_no_horizontal_scroll(page)
    _inside_the_phone(page.locator("img.barcode"))
    _inside_the_phone(page.get_by_role("link", name="Cancel this appointment"))
    screenshot(page, "appointments-4-confirmation-phone")
    # cancelling asks once, and "No" keeps it
    page.get_by_role("link", name="Cancel this appointment").click()
    assert "Cancel this appointment?" in page.locator("h1").inner_text()
    _inside_the_phone(page.get_by_role("button", name="Yes, cancel it"))
    assert_no_horizontal_scroll(page)
    screenshot(page, "appointments-4b-cancel-question-phone")
    page.get_by_role("link", name="No, keep it").click()
    assert reference in page.locator(".reference").inner_text()

    # My bookings, with a waitlist entry for a full day
    with schema_context(throwaway_mission.schema_name):
        full = Slot.objects.filter(service=service).order_by("-starts_at").first()
        day = full.starts_at.astimezone(throwaway_mission.zone).date()
        Slot.objects.filter(service=service, starts_at__date=full.starts_at.date()).update(
            capacity=F("booked")
        )
        services.waitlist_join(
            service=service, person=person("U7654321"), day_from=day, day_to=day, user=citizen,
            language="en", acting_user=citizen,
        )  # fmt: skip
    page.goto(url("/appointments/mine/", mission=code))
    card = page.locator(".booking-cards .card").first
    _inside_the_phone(card.locator(".when"))
    _inside_the_phone(card.locator(".status"))
    assert reference in card.inner_text()
    _inside_the_phone(page.get_by_role("link", name="Leave the waitlist"))
    assert_no_horizontal_scroll(page)
    screenshot(page, "appointments-5-my-bookings-phone")
    # and in Turkish, the service's Turkish name
    page.get_by_label("Language").select_option("tr")
    page.get_by_role("button", name="Change").click()
    page.wait_for_load_state()
    assert "Pasaport başvurusu" in page.locator(".booking-cards").inner_text()
    assert "Randevu alındı" in page.locator(".booking-cards").inner_text()
    assert_no_horizontal_scroll(page)
    screenshot(page, "appointments-5b-my-bookings-phone-tr")

    # the day sheet: one person checked in, one due, every button on screen
    with schema_context(throwaway_mission.schema_name):
        slots = Slot.objects.filter(service=service).order_by("starts_at")[20:22]
        today = [_book(service, slot, citizen, f"D{n:07d}") for n, slot in enumerate(slots)]
        # one started, one due later, both on the mission's today (near local midnight "now
        # minus 10 minutes" would be yesterday there, "now plus 20" tomorrow)
        zone = throwaway_mission.zone
        now = timezone.now()
        day_start = dt.datetime.combine(now.astimezone(zone).date(), dt.time(0), zone)
        day_end = day_start + dt.timedelta(days=1)
        starts = [
            max(day_start, now - dt.timedelta(minutes=10)),
            min(day_end - dt.timedelta(minutes=30), now + dt.timedelta(minutes=20)),
        ]
        for booking, starts_at in zip(today, starts, strict=True):
            Slot.objects.filter(pk=booking.slot_id).update(
                starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=30)
            )
        services.booking_check_in(booking=today[0], acting_user=SYSTEM)
    page.context.clear_cookies()
    page.goto(url("/accounts/login/", mission=code))
    page.get_by_label("Email", exact=True).fill(staff.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_label("Code", exact=True).fill(totp_code(secret))
    page.get_by_role("button", name="Sign In").click()
    page.goto(url("/staff/appointments/", mission=code))
    served = page.get_by_role("button", name=f"Served {today[0].reference}")
    no_show = page.get_by_role("button", name=f"No-show {today[0].reference}")
    _inside_the_phone(served)
    _inside_the_phone(no_show)
    _inside_the_phone(page.get_by_role("button", name="Call next"))
    assert_no_horizontal_scroll(page)
    screenshot(page, "appointments-6-day-sheet-phone")
    served.click()
    assert "Served" in page.locator("table").inner_text()

    # the settings page, after the hours changed under a booking
    with schema_context(throwaway_mission.schema_name):
        booking = Booking.objects.get(reference=reference)
        local = booking.slot.starts_at.astimezone(throwaway_mission.zone)
        services.opening_hours_set(
            weekday=local.weekday(), spans=[(dt.time(13), dt.time(15))], acting_user=SYSTEM
        )
    page.goto(url("/staff/appointments/settings/", mission=code))
    section = page.get_by_role("region", name="Bookings outside the opening hours")
    assert reference in section.inner_text()
    _inside_the_phone(section.get_by_role("button", name=f"Move {reference}"))
    assert_no_horizontal_scroll(page)
    screenshot(page, "appointments-7-settings-phone")
    section.get_by_role("button", name=f"Move {reference}").click()
    assert "Booking moved." in page.locator(".messages").inner_text()
    with schema_context(throwaway_mission.schema_name):
        assert Booking.objects.get(reference=reference).status == BookingStatus.ACTIVE
