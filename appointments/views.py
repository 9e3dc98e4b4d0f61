"""Pages: the catalogue, the calendar, booking, the citizen's bookings, the lottery and waitlist
pages, and the staff's settings and day sheet. Thin: forms parse, services decide, selectors
read. A page that catches an ApplicationError shows its message and answers its HTTP status."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from consulate.kernel.errors import ApplicationError, CommonError, error_shown, refusal_shown
from consulate.kernel.public_cache import public_response
from missions.models import Mission
from missions.permissions import Action, staff_access

from . import documents, lottery, selectors, services
from .error_codes import AppointmentError
from .forms import (
    BookingCancelByMissionForm,
    BookingMoveForm,
    CalendarForm,
    CheckInForm,
    ClosureForm,
    CounterForm,
    DayForm,
    GenerateSlotsForm,
    LotteryRoundForm,
    NewServiceForm,
    OpeningHoursForm,
    PersonCountForm,
    PersonForm,
    PersonFormSet,
    ServiceForm,
    SettingsForm,
    WaitlistForm,
)
from .models import Booking, BookingStatus, LotteryStatus, ReleaseMode, Service, Slot
from .ratelimit import rate_limit_consume


def _mission(request: HttpRequest) -> Mission:
    return request.tenant  # type: ignore[attr-defined,no-any-return]


def _language() -> str:
    return translation.get_language() or "en"


def _absolute_url(request: HttpRequest, path: str) -> str:
    """`path` on the host the person is using, port included: the Host header's port, or, when
    a proxy in front of the development server dropped it, `PORTAL_PORT` (the port links in
    e-mails use). In production neither has one."""
    host = request.get_host()
    if settings.PORTAL_PORT and ":" not in host:
        host = f"{host}:{settings.PORTAL_PORT}"
    return f"{request.scheme}://{host}{path}"


def service_list(request: HttpRequest) -> HttpResponse:
    mission = _mission(request)
    return render(
        request,
        "appointments/service_list.html",
        {
            "services": selectors.service_list_with_availability(mission=mission),
            "rounds": selectors.lottery_round_list_public()[:5],
            "zone": mission.zone,
        },
    )


@public_response
@require_safe
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


def _times(
    slots: list[Slot], *, service: Service, zone: dt.tzinfo, reschedule: str | None
) -> list[dict[str, str]]:
    """The chosen day's times as the calendar lists them: the local time and where it leads
    (book it, or move the booking being rescheduled there). Built here rather than in the
    template, which reversed a URL and ran three filters per time: a day of 40 times cost a
    few milliseconds of every calendar page."""
    times = []
    for slot in slots:
        if reschedule:
            href = reverse("appointments:booking_reschedule", args=[reschedule, slot.pk])
        else:
            href = reverse("appointments:book", args=[service.code, slot.pk])
        times.append({"label": slot.starts_at.astimezone(zone).strftime("%H:%M"), "href": href})
    return times


def service_calendar(request: HttpRequest, code: str) -> HttpResponse:
    mission = _mission(request)
    service = selectors.service_get_offered(code=code)
    if service.booked_from_case:
        # no calendar to pick from: it is booked from the application (BOOKED_FROM_CASE)
        return render(request, "appointments/booked_from_case.html", {"service": service})
    if service.release_mode == ReleaseMode.LOTTERY:
        open_round = (
            selectors.lottery_round_list_public()
            .filter(service=service, status=LotteryStatus.OPEN)
            .first()
        )
        if open_round:
            return redirect("appointments:lottery_detail", pk=open_round.pk)
    days = selectors.slot_day_counts(service=service, mission=mission)
    query = CalendarForm(request.GET)
    chosen = query.day_or(next(iter(days), mission.today()))
    feed = selectors.availability_feed_times(mission=mission, services=[service])
    # A phone shows the chosen day's times first: the days are one select (the chosen one in
    # it even if it has no time), with a step to the day before and after that have times.
    counts = dict(days)
    counts.setdefault(chosen, 0)
    return render(
        request,
        "appointments/calendar.html",
        {
            "service": service,
            "days": sorted(counts.items()) if days else [],
            "days_key": hashlib.sha256(repr(sorted(counts.items())).encode()).hexdigest(),
            "chosen": chosen,
            "previous_day": max((day for day in days if day < chosen), default=None),
            "next_day": min((day for day in days if day > chosen), default=None),
            "times": _times(
                selectors.slot_list_available_on(service=service, mission=mission, day=chosen)
                if chosen in days
                else [],
                service=service,
                zone=mission.zone,
                reschedule=query.reschedule_reference(),
            ),
            "zone": mission.zone,
            "reschedule": query.reschedule_reference(),
            "feed": next((row for row in feed if row["service"] == service.code), None),
        },
    )


@login_required
def book(request: HttpRequest, code: str, slot_id: int) -> HttpResponse:
    mission = _mission(request)
    service = selectors.service_get_offered(code=code)
    if service.booked_from_case:
        return render(request, "appointments/booked_from_case.html", {"service": service})
    now = timezone.now()
    slot = selectors.slot_get_for_booking(
        service=service, slot_id=slot_id, mission=mission, user_id=request.user.pk, now=now
    )
    if slot is None:
        raise Http404
    count = PersonCountForm(request.GET).count(max_persons=service.max_persons)
    formset = PersonFormSet(
        request.POST if request.method == "POST" else None, initial=[{}] * count, prefix="person"
    )
    status = 200
    refused = None
    if request.method != "POST":
        # a time taken (or closed) since it was chosen is said as the page opens, not after the
        # details are typed, with the status the booking would get; the booking checks again
        refused = services.booking_refused_ahead(slot=slot, service=service, now=now)
        if refused is not None:
            status = error_shown(request, refused)
    if request.method == "POST" and formset.is_valid():
        try:
            rate_limit_consume(request=request, action="book")
            booking = services.booking_create(
                slot_id=slot.pk,
                service=service,
                persons=[form.person() for form in formset.forms],
                user=request.user,  # type: ignore[arg-type]
                language=_language(),
                acting_user=request.user,  # type: ignore[arg-type]
            )
        except ApplicationError as error:
            status = error_shown(request, error)
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
            "refused": refused,
            # every time is refused to a person blocked for missed appointments
            "choose_another": refused is not None
            and refused.code != AppointmentError.BLOCKED_NO_SHOWS,
            "count": count,
            "counts": range(1, service.max_persons + 1),
            "zone": mission.zone,
            "changes_until": service.changes_until(slot.starts_at),
            "changeable_online": service.changeable_online(slot.starts_at),
        },
        status=status,
    )


@login_required
def booking_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "appointments/booking_list.html",
        {
            "bookings": selectors.booking_lists_for_user(user_id=request.user.pk),
            "waitlist": list(selectors.waitlist_list_current_for_user(user_id=request.user.pk)),
            "zone": _mission(request).zone,
        },
    )


@login_required
def booking_detail(request: HttpRequest, reference: str) -> HttpResponse:
    booking = selectors.booking_get_for_user(reference=reference, user_id=request.user.pk)
    # The barcode and the calendar entry are for a booking that is still to come: a cancelled,
    # served or missed one shows neither, so nobody takes it to the mission.
    upcoming = booking.status == BookingStatus.ACTIVE
    return render(
        request,
        "appointments/booking_detail.html",
        {
            "booking": booking,
            "persons": list(booking.persons.all()),
            "upcoming": upcoming,
            "barcode": base64.b64encode(documents.barcode_png(booking.reference)).decode()
            if upcoming
            else "",
            "zone": _mission(request).zone,
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
        location=mission.address_line,
        url=_absolute_url(
            request, reverse("appointments:booking_detail", args=[booking.reference])
        ),
    )
    response = HttpResponse(body, content_type="text/calendar")
    response["Content-Disposition"] = f'attachment; filename="appointment-{booking.reference}.ics"'
    return response


@login_required
def booking_cancel(request: HttpRequest, reference: str) -> HttpResponse:
    """Cancel asks once: the GET shows the appointment and one button; the POST cancels."""
    booking = selectors.booking_get_for_user(reference=reference, user_id=request.user.pk)
    if request.method == "POST":
        try:
            rate_limit_consume(request=request, action="cancel")
            services.booking_cancel(booking=booking, acting_user=request.user)  # type: ignore[arg-type]
        except ApplicationError as error:
            error_shown(request, error)
        else:
            messages.success(request, _("Your appointment is cancelled."))
        return redirect("appointments:booking_detail", reference=booking.reference)
    return render(
        request,
        "appointments/booking_cancel.html",
        {"booking": booking, "zone": _mission(request).zone, "can_cancel": booking.can_cancel()},
    )


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
        error_shown(request, error)
        return redirect("appointments:booking_detail", reference=booking.reference)
    messages.success(request, _("Your appointment is moved. Its reference stays the same."))
    return redirect("appointments:booking_detail", reference=new.reference)


def cancel_by_token(request: HttpRequest, reference: str, token: str) -> HttpResponse:
    """The link in the e-mail: one tap opens this page, one more confirms (a GET never
    changes anything, so link previews in mail clients cannot cancel)."""
    booking = selectors.booking_get_by_cancel_token(reference=reference, token=token)
    if booking is None:
        raise Http404
    status = 200
    if request.method == "POST":
        try:
            rate_limit_consume(request=request, action="cancel")
            services.booking_cancel_by_token(reference=reference, token=token)
        except ApplicationError as error:
            status = error_shown(request, error)
        else:
            messages.success(request, _("Your appointment is cancelled."))
        booking.refresh_from_db()
    return render(
        request,
        "appointments/cancel_by_token.html",
        {"booking": booking, "zone": _mission(request).zone, "can_cancel": booking.can_cancel()},
        status=status,
    )


def lottery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    mission = _mission(request)
    lottery_round = selectors.lottery_round_get_public(pk=pk)
    form = PersonForm(request.POST if request.method == "POST" else None, prefix="person")
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
                    language=_language(),
                    acting_user=request.user,  # type: ignore[arg-type]
                )
            except ApplicationError as error:
                status = error_shown(request, error)
            else:
                messages.success(
                    request,
                    _("You are registered for the draw. Your ticket is %(ticket)s.")
                    % {"ticket": entry.ticket},
                )
                return redirect("appointments:lottery_detail", pk=lottery_round.pk)
        else:
            status = 400
    drawn = lottery_round.status == LotteryStatus.DRAWN
    results = selectors.lottery_results(lottery_round=lottery_round) if drawn else []
    tickets = (
        [row["ticket"] for row in results]
        if drawn
        else selectors.lottery_tickets(lottery_round=lottery_round)
    )
    return render(
        request,
        "appointments/lottery_detail.html",
        {
            "round": lottery_round,
            "form": form,
            "is_open": lottery_round.can_enter(),
            "drawn": drawn,
            "results": results,
            "tickets": tickets,
            "entries": len(tickets),
            "example_ticket": tickets[0] if tickets else "TICKET",
            "script_name": _script_name(lottery_round.pk),
            "zone": mission.zone,
            "mission": mission,
        },
        status=status,
    )


def _script_name(pk: int) -> str:
    return f"verify-draw-{pk}.py"


def lottery_verify_script(request: HttpRequest, pk: int) -> HttpResponse:
    """The drawn round's check as a small Python 3 program with the published data in it, its
    messages in the reader's language (appointments/lottery.py::verification_script)."""
    lottery_round = selectors.lottery_round_get_public(pk=pk)
    if lottery_round.status != LotteryStatus.DRAWN:
        raise Http404
    mission = _mission(request)
    name = _script_name(lottery_round.pk)
    body = lottery.verification_script(
        commitment=lottery_round.seed_commitment,
        seed=lottery_round.seed,
        results=[
            (row["rank"], row["ticket"], row["won"])
            for row in selectors.lottery_results(lottery_round=lottery_round)
        ],
        filename=name,
        text={
            "title": _("Check the appointment draw “%(service)s” at the %(mission)s (draw %(n)s).")
            % {"service": lottery_round.service.name, "mission": mission.name, "n": pk},
            "usage": _("Run it with"),
            "what": _(
                "It checks that the seed published after the draw is the one committed to "
                "before registration opened, and that the tickets are in the order the seed "
                "gives. Add your ticket to see only its line."
            ),
            "seed_ok": _("The seed matches the commitment."),
            "seed_bad": _("The seed does NOT match the commitment."),
            "order_ok": _("The tickets are in the order the seed gives."),
            "order_bad": _("The published order is NOT the order the seed gives."),
            "won": _("got a time"),
            "no_ticket": _("This ticket is not in the draw."),
            "compare": _(
                "Compare the commitment above with the one the draw's page showed before "
                "registration opened."
            ),
        },
    )
    response = HttpResponse(body, content_type="text/x-python; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def waitlist_join(request: HttpRequest, code: str) -> HttpResponse:
    mission = _mission(request)
    service = selectors.service_get_offered(code=code)
    form = WaitlistForm(request.POST if request.method == "POST" else None, prefix="person")
    status = 200
    free_day = None
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
                    language=_language(),
                    acting_user=request.user,  # type: ignore[arg-type]
                )
            except ApplicationError as error:
                if error.code == AppointmentError.WAITLIST_FREE_TIMES:
                    # said on the page, with a link to the first free day
                    status = error.http_status
                    free_day = selectors.slot_first_free_day(
                        service=service,
                        mission=mission,
                        day_from=form.cleaned_data["day_from"],
                        day_to=form.cleaned_data["day_to"],
                    )
                else:
                    status = refusal_shown(request, form, error)
            else:
                messages.success(
                    request,
                    _("You are on the waitlist. We will e-mail you when a time frees up."),
                )
                return redirect("appointments:booking_list")
        else:
            status = 400
    return render(
        request,
        "appointments/waitlist_join.html",
        {"service": service, "form": form, "zone": mission.zone, "free_day": free_day},
        status=status,
    )


@login_required
def waitlist_leave(request: HttpRequest, pk: int) -> HttpResponse:
    """Leaving asks once, like cancelling: the GET shows the entry and one button."""
    entry = selectors.waitlist_entry_get_for_user(pk=pk, user_id=request.user.pk)
    if request.method == "POST":
        try:
            rate_limit_consume(request=request, action="cancel")
            services.waitlist_leave(entry=entry, acting_user=request.user)  # type: ignore[arg-type]
        except ApplicationError as error:
            error_shown(request, error)
        else:
            messages.success(request, _("You have left the waitlist."))
        return redirect("appointments:booking_list")
    return render(
        request,
        "appointments/waitlist_leave.html",
        {"entry": entry, "zone": _mission(request).zone},
    )


def waitlist_offer(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    """The link in the offer e-mail: shows the held time; one button takes it."""
    entry = selectors.waitlist_entry_get_by_offer_token(pk=pk, token=token)
    if entry is None:
        raise Http404
    status = 200
    if request.method == "POST":
        try:
            rate_limit_consume(request=request, action="book")
            booking = services.waitlist_accept(
                entry_id=entry.pk,
                token=token,
                acting_user=request.user if request.user.is_authenticated else None,  # type: ignore[arg-type]
            )
        except ApplicationError as error:
            status = error_shown(request, error)
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
        {"entry": entry, "zone": _mission(request).zone},
        status=status,
    )


# The staff's settings page: each form posts `action=<name>`; the table says which form parses
# it, which service it calls, what to say and where to go. No rule lives here.


@dataclasses.dataclass(frozen=True)
class SettingsAction:
    form: type[SettingsForm]
    save: Callable[[dict[str, Any], Any], Any]  # (cleaned data, acting user) -> the service's
    done: Any  # the message when it is done (lazy)
    goto: Callable[[Any], str] = lambda _result: reverse("appointments:staff_settings")


SETTINGS_ACTIONS: dict[str, SettingsAction] = {
    "hours": SettingsAction(
        OpeningHoursForm,
        lambda data, user: services.opening_hours_set(
            weekday=data["weekday"], spans=data["spans"], acting_user=user
        ),
        gettext_lazy(
            "Opening hours saved. The times ahead follow them; bookings they no longer cover are "
            "listed under “Bookings outside the opening hours”."
        ),
    ),
    "move": SettingsAction(
        BookingMoveForm,
        lambda data, user: services.booking_move_by_mission(
            booking=_booking_named(data["reference"]), slot_id=data["slot"], acting_user=user
        ),
        gettext_lazy("Booking moved. The person is e-mailed the new time; the reference stays."),
    ),
    "mission_cancel": SettingsAction(
        BookingCancelByMissionForm,
        lambda data, user: services.booking_cancel_by_mission(
            booking=_booking_named(data["reference"]), acting_user=user
        ),
        gettext_lazy("Booking cancelled. The person is e-mailed with a link to book again."),
    ),
    "closure": SettingsAction(
        ClosureForm,
        lambda data, user: services.closure_create(acting_user=user, **data),
        gettext_lazy(
            "Closure saved. The bookings still to come that day are cancelled and each person "
            "is told."
        ),
    ),
    "counter": SettingsAction(
        CounterForm,
        lambda data, user: services.counter_create(name=data["name"], acting_user=user),
        gettext_lazy("Counter added."),
    ),
    "service": SettingsAction(
        NewServiceForm,
        lambda data, user: services.service_create(
            code=data["code"],
            name=data["name"],
            name_tr=data["name_tr"],
            counters=list(data["counters"]),
            acting_user=user,
        ),
        gettext_lazy("Service added. Check its settings."),
        lambda service: reverse("appointments:staff_service_edit", args=[service.code]),
    ),
    "lottery": SettingsAction(
        LotteryRoundForm,
        lambda data, user: services.lottery_round_create(acting_user=user, **data),
        gettext_lazy("Draw opened. Its seed commitment is published on its page."),
    ),
    "generate": SettingsAction(
        GenerateSlotsForm,
        lambda data, user: services.slot_generate_all(acting_user=user),
        gettext_lazy("Slots generated over each service's horizon."),
    ),
}


@login_required
def staff_settings(request: HttpRequest) -> HttpResponse:
    """The mission admin's page: catalogue, counters, opening hours, closures, draws. Anyone who
    may view the settings sees it; only who may change them can post (404 for the others)."""
    mission = _mission(request)
    staff_access(user=request.user, mission=mission, action=Action.APPOINTMENTS_SETTINGS_VIEW)
    bound: dict[str, forms.Form] = {}
    status = 200
    if request.method == "POST":
        staff_access(user=request.user, mission=mission, action=Action.APPOINTMENTS_SETTINGS_CHANGE)
        name = request.POST.get("action", "")
        action = SETTINGS_ACTIONS.get(name)
        if action is None:
            return HttpResponse(status=400)
        form = bound[name] = action.form(request.POST, prefix=name, mission=mission)
        status = 400
        if form.is_valid():
            try:
                result = action.save(form.cleaned_data, request.user)
            except ApplicationError as error:
                if error.field in form.fields:  # beside its field too, the form kept open
                    form.add_error(error.field, str(error.message))
                status = error_shown(request, error)
            else:
                messages.success(request, str(action.done))
                return redirect(action.goto(result))
    forms_ = {
        f"{name}_form": bound.get(name) or action.form(prefix=name, mission=mission)
        for name, action in SETTINGS_ACTIONS.items()
    }
    return render(
        request,
        "appointments/staff_settings.html",
        {
            **forms_,
            **selectors.settings_overview(mission=mission, acting_user=request.user),
            "zone": mission.zone,
        },
        status=status,
    )


@login_required
def staff_service_edit(request: HttpRequest, code: str) -> HttpResponse:
    mission = _mission(request)
    staff_access(user=request.user, mission=mission, action=Action.APPOINTMENTS_SETTINGS_VIEW)
    service = selectors.service_get(code=code)
    form = ServiceForm(request.POST if request.method == "POST" else None, service=service)
    status = 200
    if request.method == "POST":
        staff_access(user=request.user, mission=mission, action=Action.APPOINTMENTS_SETTINGS_CHANGE)
        status = 400
        if form.is_valid():
            try:
                if changes := form.changes():
                    services.service_update(service=service, acting_user=request.user, **changes)  # type: ignore[arg-type]
            except ApplicationError as error:
                status = error_shown(request, error)
            else:
                messages.success(request, _("Service saved."))
                return redirect("appointments:staff_settings")
    return render(
        request,
        "appointments/staff_service_edit.html",
        {"service": service, "form": form},
        status=status,
    )


# The day sheet: each button posts `action=<name>`; each handler calls one service and says
# what happened. Who may press them is the permission table's answer (`booking.process`).


def _check_in(request: HttpRequest, form: CheckInForm) -> bool:
    if not form.is_valid():
        return False
    booking = services.booking_check_in(
        booking=_booking_named(form.cleaned_data["reference"]),
        acting_user=request.user,  # type: ignore[arg-type]
    )
    messages.success(
        request,
        _("%(reference)s checked in: queue ticket %(number)s.")
        % {"reference": booking.reference, "number": booking.queue_number},
    )
    return True


def _call_next(request: HttpRequest, form: CheckInForm) -> bool:
    called = services.booking_call_next(acting_user=request.user)  # type: ignore[arg-type]
    if called is None:
        messages.info(request, _("Nobody is waiting."))
    else:
        messages.success(
            request,
            _("Calling ticket %(number)s (%(reference)s).")
            % {"number": called.queue_number, "reference": called.reference},
        )
    return True


def _mark(verb: Callable[..., Any]) -> Callable[[HttpRequest, CheckInForm], bool]:
    def handler(request: HttpRequest, form: CheckInForm) -> bool:
        booking = _booking_named(request.POST.get("reference", ""))
        verb(booking=booking, acting_user=request.user)
        messages.success(request, _("Saved."))
        return True

    return handler


def _booking_named(reference: str) -> Booking:
    booking = selectors.booking_get_by_reference(reference=reference)
    if booking is None:
        raise ApplicationError(CommonError.NOT_FOUND, _("No booking has this reference."))
    return booking


DAY_SHEET_ACTIONS: dict[str, Callable[[HttpRequest, CheckInForm], bool]] = {
    "check_in": _check_in,
    "call_next": _call_next,
    "served": _mark(services.booking_mark_served),
    "no_show": _mark(services.booking_mark_no_show),
}


@login_required
def staff_day_sheet(request: HttpRequest) -> HttpResponse:
    """The officer's day: check-in, the queue, and the day's bookings. Anyone who may view the
    day sheet sees it; only who may process bookings can post (404 for the others)."""
    mission = _mission(request)
    staff_access(user=request.user, mission=mission, action=Action.DAY_SHEET_VIEW)
    today = mission.today()
    day_form = DayForm(request.GET if "day" in request.GET else None)
    day = day_form.day_or(today)
    status = 400 if day_form.errors else 200
    form = CheckInForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        staff_access(user=request.user, mission=mission, action=Action.BOOKING_PROCESS)
        handler = DAY_SHEET_ACTIONS.get(request.POST.get("action", "check_in"))
        if handler is None:
            return HttpResponse(status=400)
        try:
            done = handler(request, form)
        except ApplicationError as error:
            status = error_shown(request, error)
        else:
            if done:
                return redirect(f"{reverse('appointments:staff_day_sheet')}?day={day}")
            status = 400
    return render(
        request,
        "appointments/staff_day_sheet.html",
        {
            "form": form,
            "day_form": day_form,
            "day": day,
            "today": today,
            "rows": selectors.day_sheet(mission=mission, day=day, acting_user=request.user),
            "closure": selectors.closure_day_of(day=day),
            "queue": list(selectors.queue_waiting()),
            "zone": mission.zone,
            "now": timezone.now(),
        },
        status=status,
    )
