"""Pages: the catalogue, the calendar, booking, the citizen's bookings, the lottery pages and
the officer's day sheet. Thin: rules are in services.py and selectors.py."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from consulate.kernel.errors import ApplicationError
from missions.permissions import Action, staff_access

from . import documents, lottery, selectors, services
from .forms import (
    CheckInForm,
    ClosureForm,
    CounterForm,
    DayForm,
    LotteryRoundForm,
    NewServiceForm,
    OpeningHoursForm,
    PersonForm,
    PersonFormSet,
    ServiceForm,
    WaitlistForm,
)
from .models import Booking, LotteryStatus, ReleaseMode, Slot
from .ratelimit import rate_limit_consume
from .services.common import mission_zone


def _mission(request: HttpRequest) -> Any:
    return request.tenant  # type: ignore[attr-defined]


def _error_status(error: ApplicationError) -> int:
    return 429 if error.code.name == "RATE_LIMITED" else error.http_status


def _parsed(row: dict[str, Any]) -> dict[str, Any]:
    """The feed's ISO times as datetimes, for the template's date formatting."""
    return {
        key: dt.datetime.fromisoformat(value) if key in TIME_KEYS and value else value
        for key, value in row.items()
    }


TIME_KEYS = ("next_bookable", "next_release", "lottery_closes")


def service_list(request: HttpRequest) -> HttpResponse:
    mission = _mission(request)
    feed = {row["service"]: _parsed(row) for row in selectors.availability_feed(mission=mission)}
    services_ = [
        {"service": service, "feed": feed.get(service.code)}
        for service in selectors.service_list_offered()
    ]
    return render(
        request,
        "appointments/service_list.html",
        {
            "services": services_,
            "rounds": selectors.lottery_round_list_public()[:5],
            "zone": mission_zone(mission),
        },
    )


def availability_json(request: HttpRequest) -> JsonResponse:
    """The public availability feed: next bookable and next release time per service."""
    mission = _mission(request)
    return JsonResponse(
        {
            "mission": mission.code,
            "timezone": mission.timezone,
            "services": selectors.availability_feed(mission=mission),
        }
    )


def service_calendar(request: HttpRequest, code: str) -> HttpResponse:
    mission = _mission(request)
    service = selectors.service_get_offered(code=code)
    if service.release_mode == ReleaseMode.LOTTERY:
        open_round = (
            selectors.lottery_round_list_public()
            .filter(service=service, status=LotteryStatus.OPEN)
            .first()
        )
        if open_round:
            return redirect("appointments:lottery_detail", pk=open_round.pk)
    days = selectors.slot_days_available(service=service, mission=mission)
    chosen = DayForm.initial_day(request.GET.get("day"), next(iter(days), timezone.now().date()))
    reschedule = request.GET.get("reschedule", "")
    return render(
        request,
        "appointments/calendar.html",
        {
            "service": service,
            "days": [(day, len(slots)) for day, slots in days.items()],
            "chosen": chosen,
            "slots": days.get(chosen, []),
            "zone": mission_zone(mission),
            "reschedule": reschedule,
            "feed": next(
                (
                    _parsed(row)
                    for row in selectors.availability_feed(mission=mission)
                    if row["service"] == service.code
                ),
                None,
            ),
        },
    )


@login_required
def book(request: HttpRequest, code: str, slot_id: int) -> HttpResponse:
    mission = _mission(request)
    service = selectors.service_get_offered(code=code)
    slot = Slot.objects.filter(pk=slot_id, service=service).first()
    if slot is None:
        raise Http404
    try:
        count = max(1, min(int(request.GET.get("persons", "1")), service.max_persons))
    except ValueError:
        count = 1
    formset = PersonFormSet(request.POST or None, initial=[{}] * count, prefix="person")
    status = 200
    if request.method == "POST" and formset.is_valid():
        try:
            rate_limit_consume(request=request, action="book")
            booking = services.booking_create(
                slot_id=slot.pk,
                service=service,
                persons=[form.person() for form in formset.forms],
                user=request.user,  # type: ignore[arg-type]
                language=translation.get_language() or "en",
                acting_user=request.user,  # type: ignore[arg-type]
            )
        except ApplicationError as error:
            messages.error(request, str(error.message))
            status = _error_status(error)
        else:
            messages.success(request, _("Your appointment is booked."))
            return redirect("appointments:booking_detail", reference=booking.reference)
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "appointments/book.html",
        {
            "service": service,
            "slot": slot,
            "formset": formset,
            "count": count,
            "counts": range(1, service.max_persons + 1),
            "zone": mission_zone(mission),
        },
        status=status,
    )


@login_required
def booking_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "appointments/booking_list.html",
        {
            "bookings": selectors.booking_list_for_user(user_id=request.user.pk),
            "zone": mission_zone(_mission(request)),
        },
    )


@login_required
def booking_detail(request: HttpRequest, reference: str) -> HttpResponse:
    booking = selectors.booking_get_for_user(reference=reference, user_id=request.user.pk)
    return render(
        request,
        "appointments/booking_detail.html",
        {
            "booking": booking,
            "persons": list(booking.persons.all()),
            "barcode": base64.b64encode(documents.barcode_png(booking.reference)).decode(),
            "zone": mission_zone(_mission(request)),
            "can_cancel": booking.can_cancel(),
        },
    )


@login_required
def booking_ics(request: HttpRequest, reference: str) -> HttpResponse:
    mission = _mission(request)
    booking = selectors.booking_get_for_user(reference=reference, user_id=request.user.pk)
    body = documents.booking_ics(
        booking=booking,
        title=f"{booking.service.name} – {mission.name}",
        location=mission.address.replace("\n", ", "),
        url=request.build_absolute_uri(
            reverse("appointments:booking_detail", args=[booking.reference])
        ),
    )
    response = HttpResponse(body, content_type="text/calendar")
    response["Content-Disposition"] = f'attachment; filename="appointment-{booking.reference}.ics"'
    return response


@login_required
@require_POST
def booking_cancel(request: HttpRequest, reference: str) -> HttpResponse:
    booking = selectors.booking_get_for_user(reference=reference, user_id=request.user.pk)
    try:
        rate_limit_consume(request=request, action="cancel")
        services.booking_cancel(booking=booking, acting_user=request.user)  # type: ignore[arg-type]
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Your appointment is cancelled."))
    return redirect("appointments:booking_detail", reference=booking.reference)


@login_required
@require_POST
def booking_reschedule(request: HttpRequest, reference: str, slot_id: int) -> HttpResponse:
    booking = selectors.booking_get_for_user(reference=reference, user_id=request.user.pk)
    try:
        rate_limit_consume(request=request, action="book")
        new = services.booking_reschedule(
            booking=booking,
            slot_id=slot_id,
            acting_user=request.user,  # type: ignore[arg-type]
        )
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return redirect("appointments:booking_detail", reference=booking.reference)
    messages.success(request, _("Your appointment is moved."))
    return redirect("appointments:booking_detail", reference=new.reference)


def cancel_by_token(request: HttpRequest, reference: str, token: str) -> HttpResponse:
    """The link in the e-mail: one tap opens this page, one more confirms (a GET never
    changes anything, so link previews in mail clients cannot cancel)."""
    booking = selectors.booking_get_by_reference(reference=reference)
    if booking is None or booking.cancel_token != token:
        raise Http404
    if request.method == "POST":
        try:
            rate_limit_consume(request=request, action="cancel")
            services.booking_cancel_by_token(reference=reference, token=token)
        except ApplicationError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("Your appointment is cancelled."))
        booking.refresh_from_db()
    return render(
        request,
        "appointments/cancel_by_token.html",
        {"booking": booking, "zone": mission_zone(_mission(request))},
    )


def lottery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    mission = _mission(request)
    lottery_round = selectors.lottery_round_get_public(pk=pk)
    form = PersonForm(request.POST or None, prefix="person")
    status = 200
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"{reverse('account_login')}?next={request.path}")
        if form.is_valid():
            try:
                rate_limit_consume(request=request, action="lottery")
                entry = services.lottery_enter(
                    lottery_round=lottery_round,
                    person=form.person(),
                    user=request.user,  # type: ignore[arg-type]
                    language=translation.get_language() or "en",
                    acting_user=request.user,  # type: ignore[arg-type]
                )
            except ApplicationError as error:
                messages.error(request, str(error.message))
                status = _error_status(error)
            else:
                messages.success(
                    request,
                    _("You are registered for the draw. Your ticket is %(ticket)s.")
                    % {"ticket": entry.ticket},
                )
                return redirect("appointments:lottery_detail", pk=lottery_round.pk)
        else:
            status = 400
    now = timezone.now()
    drawn = lottery_round.status == LotteryStatus.DRAWN
    results = []
    if drawn:
        for entry in lottery_round.entries.order_by("rank"):
            results.append(
                {
                    "rank": entry.rank,
                    "ticket": entry.ticket,
                    "key": lottery.draw_key(lottery_round.seed, entry.ticket),
                    "won": entry.booking_id is not None,
                }
            )
    return render(
        request,
        "appointments/lottery_detail.html",
        {
            "round": lottery_round,
            "form": form,
            "is_open": lottery_round.status == LotteryStatus.OPEN
            and lottery_round.window_opens_at <= now < lottery_round.window_closes_at,
            "drawn": drawn,
            "results": results,
            "entries": lottery_round.entries.count(),
            "zone": mission_zone(mission),
            "mission": mission,
        },
        status=status,
    )


@login_required
def waitlist_join(request: HttpRequest, code: str) -> HttpResponse:
    mission = _mission(request)
    service = selectors.service_get_offered(code=code)
    form = WaitlistForm(request.POST or None, prefix="person")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                rate_limit_consume(request=request, action="book")
                services.waitlist_join(
                    service=service,
                    person=form.person(),
                    day_from=form.cleaned_data["day_from"],
                    day_to=form.cleaned_data["day_to"],
                    user=request.user,  # type: ignore[arg-type]
                    language=translation.get_language() or "en",
                    acting_user=request.user,  # type: ignore[arg-type]
                )
            except ApplicationError as error:
                messages.error(request, str(error.message))
                status = _error_status(error)
            else:
                messages.success(
                    request,
                    _("You are on the waitlist. We will e-mail you when a time frees up."),
                )
                return redirect("appointments:service_calendar", code=service.code)
        else:
            status = 400
    return render(
        request,
        "appointments/waitlist_join.html",
        {"service": service, "form": form, "zone": mission_zone(mission)},
        status=status,
    )


def waitlist_offer(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    """The link in the offer e-mail: shows the held time; one button takes it."""
    entry = selectors.waitlist_entry_get_by_token(pk=pk, token=token)
    if request.method == "POST":
        try:
            rate_limit_consume(request=request, action="book")
            booking = services.waitlist_accept(
                entry_id=entry.pk,
                token=token,
                acting_user=request.user if request.user.is_authenticated else None,  # type: ignore[arg-type]
            )
        except ApplicationError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(
                request,
                _("Your appointment is booked. Your reference is %(reference)s.")
                % {"reference": booking.reference},
            )
        entry.refresh_from_db()
    return render(
        request,
        "appointments/waitlist_offer.html",
        {"entry": entry, "zone": mission_zone(_mission(request))},
    )


@login_required
def staff_settings(request: HttpRequest) -> HttpResponse:
    """The mission admin's page: catalogue, opening hours, closures."""
    mission = _mission(request)
    staff_access(user=request.user, mission=mission, action=Action.APPOINTMENTS_SETTINGS_VIEW)
    user = request.user
    hours_form = OpeningHoursForm(prefix="hours")
    closure_form = ClosureForm(prefix="closure")
    counter_form = CounterForm(prefix="counter")
    service_form = NewServiceForm(prefix="service")
    lottery_form = LotteryRoundForm(prefix="lottery")
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "hours":
                hours_form = OpeningHoursForm(request.POST, prefix="hours")
                if hours_form.is_valid():
                    services.opening_hours_set(
                        weekday=hours_form.cleaned_data["weekday"],
                        spans=hours_form.cleaned_data["spans"],
                        acting_user=user,  # type: ignore[arg-type]
                    )
                    messages.success(request, _("Opening hours saved. New slots follow them."))
                    return redirect("appointments:staff_settings")
            elif action == "closure":
                closure_form = ClosureForm(request.POST, prefix="closure")
                if closure_form.is_valid():
                    services.closure_create(
                        acting_user=user,  # type: ignore[arg-type]
                        **closure_form.cleaned_data,
                    )
                    messages.success(
                        request,
                        _(
                            "Closure saved. Bookings of that day are cancelled and each person"
                            " is told."
                        ),
                    )
                    return redirect("appointments:staff_settings")
            elif action == "counter":
                counter_form = CounterForm(request.POST, prefix="counter")
                if counter_form.is_valid():
                    services.counter_create(
                        name=counter_form.cleaned_data["name"],
                        acting_user=user,  # type: ignore[arg-type]
                    )
                    messages.success(request, _("Counter added."))
                    return redirect("appointments:staff_settings")
            elif action == "service":
                service_form = NewServiceForm(request.POST, prefix="service")
                if service_form.is_valid():
                    new = services.service_create(
                        code=service_form.cleaned_data["code"],
                        name=service_form.cleaned_data["name"],
                        counters=list(service_form.cleaned_data["counters"]),
                        acting_user=user,  # type: ignore[arg-type]
                    )
                    messages.success(request, _("Service added. Check its settings."))
                    return redirect("appointments:staff_service_edit", code=new.code)
            elif action == "lottery":
                lottery_form = LotteryRoundForm(request.POST, prefix="lottery")
                if lottery_form.is_valid():
                    data = lottery_form.cleaned_data
                    zone = mission_zone(mission)
                    services.lottery_round_create(
                        service=data["service"],
                        period_start=data["period_start"],
                        period_end=data["period_end"],
                        # the form's times are wall-clock times at the mission
                        window_opens_at=data["window_opens_at"]
                        .replace(tzinfo=None)
                        .replace(tzinfo=zone),
                        window_closes_at=data["window_closes_at"]
                        .replace(tzinfo=None)
                        .replace(tzinfo=zone),
                        acting_user=user,  # type: ignore[arg-type]
                    )
                    messages.success(
                        request, _("Draw opened. Its seed commitment is published on its page.")
                    )
                    return redirect("appointments:staff_settings")
            elif action == "generate":
                for service in selectors.service_list_offered():
                    services.slot_generate(service=service, acting_user=user)  # type: ignore[arg-type]
                messages.success(request, _("Slots generated over each service's horizon."))
                return redirect("appointments:staff_settings")
        except ApplicationError as error:
            messages.error(request, str(error.message))
    return render(
        request,
        "appointments/staff_settings.html",
        {
            "services": selectors.service_list_all(),
            "hours": selectors.opening_hours_list(),
            "closures": selectors.closure_list_upcoming(mission=mission),
            "hours_form": hours_form,
            "closure_form": closure_form,
            "counter_form": counter_form,
            "service_form": service_form,
            "lottery_form": lottery_form,
            "counters": selectors.counter_list(),
            "rounds": selectors.lottery_round_list_public()[:10],
        },
    )


@login_required
def staff_service_edit(request: HttpRequest, code: str) -> HttpResponse:
    mission = _mission(request)
    staff_access(user=request.user, mission=mission, action=Action.APPOINTMENTS_SETTINGS_VIEW)
    service = selectors.service_get(code=code)
    initial = {field: getattr(service, field) for field in ServiceForm.base_fields}
    form = ServiceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if v != initial[k]}
        try:
            if changes:
                services.service_update(service=service, acting_user=request.user, **changes)  # type: ignore[arg-type]
        except ApplicationError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("Service saved."))
            return redirect("appointments:staff_settings")
    return render(
        request, "appointments/staff_service_edit.html", {"service": service, "form": form}
    )


@login_required
def staff_day_sheet(request: HttpRequest) -> HttpResponse:
    mission = _mission(request)
    allowed = staff_access(user=request.user, mission=mission, action=Action.DAY_SHEET_VIEW)
    zone = mission_zone(mission)
    today = timezone.now().astimezone(zone).date()
    day = DayForm.initial_day(request.GET.get("day"), today)
    form = CheckInForm(request.POST or None)
    checked_in: Booking | None = None
    if request.method == "POST":
        action = request.POST.get("action", "check_in")
        try:
            if action == "check_in":
                if form.is_valid():
                    booking = selectors.booking_get_by_reference(
                        reference=form.cleaned_data["reference"]
                    )
                    if booking is None:
                        messages.error(request, _("No booking has this reference."))
                    else:
                        checked_in = services.booking_check_in(
                            booking=booking,
                            acting_user=request.user,  # type: ignore[arg-type]
                        )
                        messages.success(
                            request,
                            _("%(reference)s checked in: queue ticket %(number)s.")
                            % {"reference": booking.reference, "number": checked_in.queue_number},
                        )
                        form = CheckInForm()
            elif action == "call_next":
                called = services.booking_call_next(acting_user=request.user)  # type: ignore[arg-type]
                if called is None:
                    messages.info(request, _("Nobody is waiting."))
                else:
                    messages.success(
                        request,
                        _("Calling ticket %(number)s (%(reference)s).")
                        % {"number": called.queue_number, "reference": called.reference},
                    )
            elif action in ("served", "no_show"):
                booking = selectors.booking_get_by_reference(
                    reference=request.POST.get("reference", "")
                )
                if booking is None:
                    raise Http404
                verb = (
                    services.booking_mark_served
                    if action == "served"
                    else services.booking_mark_no_show
                )
                verb(booking=booking, acting_user=request.user)  # type: ignore[arg-type]
                messages.success(request, _("Saved."))
            if action != "check_in" or checked_in is not None:
                return redirect(f"{reverse('appointments:staff_day_sheet')}?day={day}")
        except ApplicationError as error:
            messages.error(request, str(error.message))
    rows = selectors.day_sheet(mission=mission, day=day)
    return render(
        request,
        "appointments/staff_day_sheet.html",
        {
            "form": form,
            "day": day,
            "today": today,
            "rows": rows,
            "queue": list(selectors.queue_waiting()),
            "zone": zone,
            "now": timezone.now(),
            "is_admin": Action.APPOINTMENTS_SETTINGS_VIEW in allowed,
        },
    )
