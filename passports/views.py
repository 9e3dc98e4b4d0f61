"""Pages of the passports app: the citizen's application (draft, photo, submission, visit,
status) and the mission's casework (queue, case, biometrics, recommendation, decision). Thin:
a form parses, a service decides, `error_shown` shows why it refused."""

from __future__ import annotations

import base64
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appointments.forms import DayForm
from appointments.ratelimit import rate_limit_consume
from appointments.selectors import slot_day_choice
from consulate.kernel.accounts.models import User
from consulate.kernel.errors import (
    ApplicationError,
    error_shown,
    form_error_shown,
    form_for_service_errors,
    recorded_already,
    refusal_shown,
)
from consulate.kernel.http import SearchForm, query_string_cleaned_by
from missions.models import Mission
from missions.permissions import Action, staff_access

from . import selectors, services
from .forms import (
    ApplicationForm,
    BiometricsForm,
    CollectForm,
    DecideForm,
    MrzCheckForm,
    PhotoForm,
    RecommendForm,
    ReportForm,
    StartForm,
)
from .models import Application, ApplicationStatus, ApplicationStep, Photo, Sex
from .mrz import mrz_parse
from .services.common import UNMAILED


def _mission(request: HttpRequest) -> Mission:
    return request.tenant  # type: ignore[attr-defined,no-any-return]


def _photo_response(photo: Photo | None) -> HttpResponse:
    """A person's photo, for their own eyes or the staff's: never kept by a cache."""
    if photo is None:
        raise Http404
    response = HttpResponse(base64.b64decode(photo.jpeg), content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


def signed_in_user(request: HttpRequest) -> User:
    """The signed-in person (every view here is `login_required`)."""
    return cast(User, request.user)


def local_time_short(mission: Mission) -> str:
    now = timezone.localtime(timezone.now(), mission.zone)
    return f"{now:%H:%M} ({mission.timezone})"


def _language() -> str:
    return translation.get_language() or "en"


def _own(request: HttpRequest, reference: str) -> Application:
    return selectors.application_get_for_citizen(reference=reference, user=signed_in_user(request))


# --- the citizen -----------------------------------------------------------------------------


@login_required
def application_list(request: HttpRequest) -> HttpResponse:
    """The citizen's applications here, and a new one."""
    form = StartForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                application = services.application_start(
                    kind=form.cleaned_data["kind"],
                    acting_user=signed_in_user(request),
                    language=_language(),
                )
            except ApplicationError as error:
                status = error_shown(request, error)
            else:
                return redirect("passports:application_edit", application.reference)
        else:
            status = form_error_shown(request, form)
    return render(
        request,
        "passports/application_list.html",
        {
            "applications": selectors.application_list_for_citizen(user=signed_in_user(request)),
            "form": form,
        },
        status=status,
    )


def _edit_page(
    request: HttpRequest,
    application: Application,
    *,
    form: ApplicationForm,
    status: int = 200,
    refused: dict[str, str] | None = None,
) -> HttpResponse:
    return render(
        request,
        "passports/application_edit.html",
        {
            "application": application,
            "form": form,
            "photo_form": PhotoForm(),
            "has_photo": application.current_photo() is not None,
            "missing": services.application_missing(application=application, refused=refused),
            "attempt": application.photo_attempts.first(),
        },
        status=status,
    )


def _initial(application: Application) -> dict[str, object]:
    return {name: getattr(application, name) or "" for name in ApplicationForm.base_fields}


@login_required
def application_edit(request: HttpRequest, reference: str) -> HttpResponse:
    """The draft: saved with "Save" (and as it is typed, by the page's script through
    `application_autosave`); "Submit" saves and submits."""
    application = _own(request, reference)
    if not application.can_edit():
        return redirect("passports:application", application.reference)
    if request.method != "POST":
        return _edit_page(request, application, form=ApplicationForm(initial=_initial(application)))
    form = ApplicationForm(request.POST)
    form_for_service_errors(form)
    saved = services.application_draft_save(
        application=application, values=request.POST, acting_user=signed_in_user(request)
    )
    for name, message in saved.errors.items():
        form.add_error(name if name in form.fields else None, message)
    if saved.errors:  # each beside its field and in the page's error summary
        return _edit_page(request, application, form=form, status=400, refused=saved.errors)
    if "submit" not in request.POST:
        messages.success(request, _("Saved. You can come back to it from any device."))
        return redirect("passports:application_edit", application.reference)
    try:
        services.application_submit(application=application, acting_user=signed_in_user(request))
    except ApplicationError as error:
        return _edit_page(
            request, application, form=form, status=refusal_shown(request, form, error)
        )
    messages.success(request, _("Your application is submitted. Next: pay and book your visit."))
    return redirect("passports:application", application.reference)


@login_required
@require_POST
def application_autosave(request: HttpRequest, reference: str) -> JsonResponse:
    """What the page's script sends as the citizen types: the valid values are saved, each
    invalid one answered with its message."""
    application = _own(request, reference)
    try:
        saved = services.application_draft_save(
            application=application, values=request.POST, acting_user=signed_in_user(request)
        )
    except ApplicationError as error:
        return JsonResponse(error.as_dict(), status=error.http_status)
    return JsonResponse(
        {
            "saved": saved.saved,
            "errors": saved.errors,
            "saved_at": timezone.now().isoformat(),
            # as the page says every time: the mission's clock, the zone named
            "saved_at_local": local_time_short(_mission(request)),
            # what still stops the submission, for the page's list
            "missing": services.application_missing(
                application=saved.application, refused=saved.errors
            ),
        },
        status=400 if saved.errors else 200,
    )


@login_required
@require_POST
def application_photo(request: HttpRequest, reference: str) -> HttpResponse:
    application = _own(request, reference)
    form = PhotoForm(request.POST, request.FILES)
    if not form.is_valid():
        status = form_error_shown(request, form)
        return _edit_page(
            request, application, form=ApplicationForm(initial=_initial(application)), status=status
        )
    try:
        result = services.application_photo_add(
            application=application,
            data=form.cleaned_data["photo"],
            acting_user=signed_in_user(request),
        )
    except ApplicationError as error:
        status = error_shown(request, error)
        return _edit_page(
            request, application, form=ApplicationForm(initial=_initial(application)), status=status
        )
    if result.accepted:
        messages.success(request, _("Your photo passed the checks."))
        return redirect("passports:application_edit", application.reference)
    for problem in result.problems:
        messages.error(request, str(problem.label))
    return _edit_page(
        request, application, form=ApplicationForm(initial=_initial(application)), status=400
    )


@login_required
def application_photo_image(request: HttpRequest, reference: str) -> HttpResponse:
    """The citizen's current photo (to see what was accepted); never cached."""
    application = _own(request, reference)
    return _photo_response(application.current_photo())


@login_required
def application_detail(request: HttpRequest, reference: str) -> HttpResponse:
    """The status page: the timeline with the next step's date, the fee, the visit."""
    application = _own(request, reference)
    if application.can_edit():
        return redirect("passports:application_edit", application.reference)
    ApplicationStep.objects.filter(application=application, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    return render(
        request,
        "passports/application_detail.html",
        {
            "application": application,
            "timeline": selectors.application_timeline(application=application),
            # the steps that were also e-mailed: the citizen's messages
            "steps": list(
                application.steps.exclude(step__in=UNMAILED).order_by("-happened_at", "-id")
            ),
            "assessment": selectors.application_assessment(application=application),
            "booking": selectors.application_booking(application=application),
            "zone": _mission(request).zone,
        },
    )


@login_required
def application_visit(request: HttpRequest, reference: str) -> HttpResponse:
    """Book the biometrics visit from the application: the free times of the service the
    mission set for it, one day at a time (`?day=`; the first day with a free time unless
    another is asked), any day of the service's horizon reachable. An application that waits
    for no visit (one booked or recorded, a draft, withdrawn) offers none: its page, saying
    why."""
    application = _own(request, reference)
    try:
        services.visit_due_require(application=application)
    except ApplicationError as error:
        messages.info(request, str(error.message))
        return redirect("passports:application", application.reference)
    status = 200
    if request.method == "POST":
        try:
            slot_id = int(request.POST.get("slot", ""))
        except ValueError:
            slot_id = 0
        try:
            services.application_visit_book(
                application=application, slot_id=slot_id, acting_user=signed_in_user(request)
            )
        except ApplicationError as error:
            status = error_shown(request, error)
        else:
            messages.success(
                request, _("Your visit is booked. The confirmation is in your e-mail.")
            )
            return redirect("passports:application", application.reference)
    try:
        service = services.visit_service()
    except ApplicationError as error:
        status = error_shown(request, error)
        service = None
    mission = _mission(request)
    # one day's times at a time, as the appointments calendar shows them
    day = slot_day_choice(service=service, mission=mission, asked=DayForm(request.GET).day_asked())
    return render(
        request,
        "passports/application_visit.html",
        {
            "application": application,
            "service": service,
            **day,
            "zone": mission.zone,
        },
        status=status,
    )


@login_required
@require_POST
def application_withdraw(request: HttpRequest, reference: str) -> HttpResponse:
    application = _own(request, reference)
    try:
        services.application_withdraw(application=application, acting_user=signed_in_user(request))
    except ApplicationError as error:
        error_shown(request, error)
        return redirect("passports:application", application.reference)
    messages.success(request, _("Your application is withdrawn."))
    return redirect("passports:application_list")


@login_required
def document_report(request: HttpRequest) -> HttpResponse:
    """Report a passport lost or stolen, at once, before (or without) applying for another."""
    form = ReportForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                rate_limit_consume(request=request, action="report")
                services.document_report_by_citizen(
                    acting_user=signed_in_user(request), **form.cleaned_data
                )
            except ApplicationError as error:
                status = error_shown(request, error)
            else:
                messages.success(
                    request,
                    _(
                        "The passport is reported. It is no longer valid for travel, even if "
                        "you find it. Apply for a replacement below."
                    ),
                )
                return redirect("passports:application_list")
        else:
            status = form_error_shown(request, form)
    return render(request, "passports/report.html", {"form": form}, status=status)


# --- the mission -----------------------------------------------------------------------------


def _staff(request: HttpRequest, action: Action = Action.PASSPORT_VIEW) -> frozenset[Action]:
    return staff_access(user=request.user, mission=_mission(request), action=action)


def _case(
    request: HttpRequest, reference: str, action: Action = Action.PASSPORT_VIEW
) -> Application:
    """The case for a staff page that needs `action` (404 for anyone without it)."""
    _staff(request, action)
    return selectors.application_get_for_staff(
        reference=reference, acting_user=signed_in_user(request)
    )


@query_string_cleaned_by(SearchForm)
@login_required
def staff_queue(request: HttpRequest) -> HttpResponse:
    _staff(request)
    status_filter = request.GET.get("status", "")
    search = SearchForm(request.GET)
    query = search.query()
    rows = selectors.application_queue(
        acting_user=signed_in_user(request), status=status_filter, query=query
    )
    return render(
        request,
        "passports/staff_queue.html",
        {
            "rows": rows,
            "statuses": [c for c in ApplicationStatus.choices if c[0] != ApplicationStatus.DRAFT],
            "status_filter": status_filter,
            "search": search,
            "query": query,
            "zone": _mission(request).zone,
        },
        status=200 if search.is_valid() else 400,
    )


def _case_page(
    request: HttpRequest, application: Application, *, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "passports/staff_case.html",
        {
            "application": application,
            "photo": application.current_photo(),
            "fingerprints": list(application.fingerprints.all()),
            "timeline": selectors.application_timeline(application=application),
            "paid": services.application_paid(application=application),
            "reported": services.document_reported(document_number=application.previous_document),
            "elsewhere": selectors.open_applications_elsewhere(
                application=application, acting_user=signed_in_user(request)
            ),
            "held": selectors.personalisation_hold(
                application=application, acting_user=signed_in_user(request)
            ),
            "staff": selectors.staff_names(application=application),
            "biometrics_form": BiometricsForm(),
            "collect_form": CollectForm(),
            "recommend_form": RecommendForm(),
            "decide_form": DecideForm(),
            "booking": selectors.application_booking(application=application),
            "zone": _mission(request).zone,
        },
        status=status,
    )


def _case_refused(
    request: HttpRequest, application: Application, error: ApplicationError, *, done: str
) -> HttpResponse:
    """A step the service refused: the case as it stands if this person's same step moved it
    to `done` meanwhile (`recorded_already`), else the case's page with the refusal."""
    application.refresh_from_db()
    page = reverse("passports:staff_case", args=[application.reference])
    return recorded_already(request, application, page=page, status=done) or _case_page(
        request, application, status=error_shown(request, error)
    )


@login_required
def staff_case(request: HttpRequest, reference: str) -> HttpResponse:
    application = _case(request, reference)
    return _case_page(request, application)


@login_required
def staff_case_photo(request: HttpRequest, reference: str) -> HttpResponse:
    application = _case(request, reference)
    return _photo_response(application.current_photo())


@login_required
@require_POST
def staff_biometrics(request: HttpRequest, reference: str) -> HttpResponse:
    application = _case(request, reference, Action.PASSPORT_PROCESS)
    form = BiometricsForm(request.POST)
    form.is_valid()
    try:
        services.application_biometrics_take(
            application=application,
            identity_confirmed=bool(form.cleaned_data.get("identity_confirmed")),
            acting_user=signed_in_user(request),
        )
    except ApplicationError as error:
        return _case_refused(request, application, error, done=ApplicationStatus.BIOMETRICS_TAKEN)
    messages.success(request, _("Biometrics recorded."))
    return redirect("passports:staff_case", application.reference)


@login_required
@require_POST
def staff_recommend(request: HttpRequest, reference: str) -> HttpResponse:
    application = _case(request, reference, Action.PASSPORT_PROCESS)
    form = RecommendForm(request.POST)
    if not form.is_valid():
        return _case_page(request, application, status=form_error_shown(request, form))
    try:
        services.application_recommend(
            application=application,
            recommendation=form.cleaned_data["recommendation"],
            reason=form.cleaned_data["reason"],
            acting_user=signed_in_user(request),
        )
    except ApplicationError as error:
        return _case_refused(request, application, error, done=ApplicationStatus.RECOMMENDED)
    messages.success(request, _("Recommendation recorded: a consul decides next."))
    return redirect("passports:staff_case", application.reference)


# What each of the consul's choices makes of the case (sent back: to the officers again).
DECIDED = {
    "approve": ApplicationStatus.APPROVED,
    "refuse": ApplicationStatus.REFUSED,
    "return": ApplicationStatus.BIOMETRICS_TAKEN,
}


@login_required
@require_POST
def staff_decide(request: HttpRequest, reference: str) -> HttpResponse:
    application = _case(request, reference, Action.PASSPORT_DECIDE)
    form = DecideForm(request.POST)
    if not form.is_valid():
        return _case_page(request, application, status=form_error_shown(request, form))
    decision = request.POST.get("decision", "")
    if decision not in DECIDED:
        messages.error(request, _("Choose approve, refuse or send back."))
        return _case_page(request, application, status=400)
    try:
        if decision == "return":
            services.application_return(
                application=application,
                reason=form.cleaned_data["reason"],
                acting_user=signed_in_user(request),
            )
        else:
            services.application_decide(
                application=application,
                approve=decision == "approve",
                reason=form.cleaned_data["reason"],
                acting_user=signed_in_user(request),
            )
    except ApplicationError as error:
        return _case_refused(request, application, error, done=DECIDED[decision])
    messages.success(request, _("Decision recorded."))
    return redirect("passports:staff_case", application.reference)


@login_required
@require_POST
def staff_arrival(request: HttpRequest, reference: str) -> HttpResponse:
    application = _case(request, reference, Action.PASSPORT_PROCESS)
    try:
        services.application_arrival_record(
            application=application, acting_user=signed_in_user(request)
        )
    except ApplicationError as error:
        return _case_refused(request, application, error, done=ApplicationStatus.READY)
    messages.success(request, _("Arrival recorded: the citizen is told it is ready."))
    return redirect("passports:staff_case", application.reference)


@login_required
@require_POST
def staff_collect(request: HttpRequest, reference: str) -> HttpResponse:
    application = _case(request, reference, Action.PASSPORT_PROCESS)
    form = CollectForm(request.POST)
    form.is_valid()
    try:
        services.application_collect(
            application=application,
            identity_confirmed=bool(form.cleaned_data.get("identity_confirmed")),
            old_document_cancelled=bool(form.cleaned_data.get("old_document_cancelled")),
            signed_for=bool(form.cleaned_data.get("signed_for")),
            acting_user=signed_in_user(request),
        )
    except ApplicationError as error:
        return _case_refused(request, application, error, done=ApplicationStatus.COLLECTED)
    messages.success(request, _("Handed over."))
    return redirect("passports:staff_case", application.reference)


@login_required
def staff_mrz_check(request: HttpRequest) -> HttpResponse:
    """Check the MRZ of a document presented at the counter: each check digit and field, and
    whether the document is reported lost or stolen."""
    _staff(request)
    form = MrzCheckForm(request.POST if request.method == "POST" else None)
    reading = None
    reported = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            reading = mrz_parse([form.cleaned_data["line1"], form.cleaned_data["line2"]])
            if reading.document_number:
                reported = services.document_reported(document_number=reading.document_number)
            if not reading.valid:
                status = 400
        else:
            status = form_error_shown(request, form)
    expired = bool(
        reading and reading.expiry_date and reading.expiry_date < _mission(request).today()
    )
    return render(
        request,
        "passports/staff_mrz_check.html",
        {
            "form": form,
            "reading": reading,
            "reported": reported,
            "expired": expired,
            "sex": dict(Sex.choices).get(reading.sex or "", reading.sex) if reading else "",
        },
        status=status,
    )


@login_required
def staff_report(request: HttpRequest) -> HttpResponse:
    """A lost or stolen passport reported at the counter."""
    _staff(request, Action.PASSPORT_PROCESS)
    form = ReportForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.document_report_take(
                    acting_user=signed_in_user(request), **form.cleaned_data
                )
            except ApplicationError as error:
                status = error_shown(request, error)
            else:
                messages.success(request, _("The passport is reported lost or stolen."))
                return redirect("passports:staff_report")
        else:
            status = form_error_shown(request, form)
    return render(request, "passports/staff_report.html", {"form": form}, status=status)
