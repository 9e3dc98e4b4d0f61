"""The applicant's visa pages on the mission's site: my applications and a new one, the form in
steps (saved as it is typed, resumable on any device), the files of the checklist, the status
page with the legal clock, the corrections, the fee, the appointment, the withdrawal. Thin: a
form parses, a service decides, `error_shown` shows why it refused."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from appointments.forms import DayForm
from appointments.selectors import slot_day_choice
from consulate.kernel.errors import (
    ApplicationError,
    error_shown,
    errors_on_form,
    form_error_shown,
    form_for_service_errors,
)
from missions.models import Mission
from passports.views import local_time_short, signed_in_user

from . import selectors
from .evisa_pdf import PRINTABLE, evisa_pdf
from .forms import ApplicationForm, QuestionsForm, StartForm, UploadForm
from .models import FORM_ITEM, FORM_LABEL, Entries, Sex, VisaApplication, VisaStatus
from .reference.models import QuestionKind
from .services import application as services

# The form's steps, in order: the fields' (services.STEP_FIELDS), the category's questions,
# the files, the review.
STEPS: list[tuple[str, Any]] = [
    ("identity", gettext_lazy("Identity and passport")),
    ("travel", gettext_lazy("Your journey")),
    ("host", gettext_lazy("Host or employer")),
    ("history", gettext_lazy("Previous visas and refusals")),
    ("means", gettext_lazy("Means of support")),
    ("questions", gettext_lazy("Questions about your journey")),
    ("documents", gettext_lazy("Documents")),
    ("review", gettext_lazy("Review and submit")),
]
STEP_NAMES = [name for name, _label in STEPS]
# The steps that show the form's values (those a correction on the form changes).
FORM_STEPS = [*services.STEP_FIELDS, "questions"]


def file_response(data: bytes, *, content_type: str, filename: str) -> HttpResponse:
    """A file to download: saved, never shown in the page, never sniffed as another type,
    never kept by a cache (it holds personal data)."""
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _shown_on_form(error: ApplicationError) -> int:
    """The HTTP status of a refusal whose messages the page shows itself (the error summary
    and each field's message): no banner repeating the first of them. A refusal that names
    nothing the page shows is said in a banner (`error_shown`)."""
    return error.http_status


def _mission(request: HttpRequest) -> Mission:
    return request.tenant  # type: ignore[attr-defined,no-any-return]


def _own(request: HttpRequest, reference: str) -> VisaApplication:
    return selectors.application_for_owner(reference=reference, user=signed_in_user(request))


def _sent_meanwhile(request: HttpRequest, application: VisaApplication) -> HttpResponse | None:
    """A send refused because the application left the draft or its corrections meanwhile (a
    double tap on a slow connection: the first request sent it): the application's page as it
    is now, with the refusal's message, instead of a page showing the old status and its button
    again."""
    application.refresh_from_db(fields=["status"])
    return None if _editable(application) else _sent_already(request, application)


def _sent_already(request: HttpRequest, application: VisaApplication) -> HttpResponse:
    messages.info(request, _("This was sent already. Here is where your application stands."))
    return redirect("visas:application", application.reference)


def _editable(application: VisaApplication) -> bool:
    return application.status in (VisaStatus.DRAFT, VisaStatus.CORRECTIONS)


def _step_of(name: str) -> str | None:
    """Which step shows a field, a question or an item of the missing list."""
    if name.startswith(services.QUESTION_PREFIX):
        return "questions"
    if name == services.ITEM_PREFIX + FORM_ITEM:  # a correction asked on the form itself
        return STEP_NAMES[0]
    if name.startswith(services.ITEM_PREFIX) or name == "category":
        return "documents"
    for step, fields in services.STEP_FIELDS.items():
        if name in fields:
            return step
    return None


@login_required
def application_list(request: HttpRequest) -> HttpResponse:
    """The person's applications here, and a new one: each category with its description and
    what it will ask for."""
    categories = selectors.categories_offered()
    form = StartForm(request.POST if request.method == "POST" else None, categories=categories)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                application = services.application_start(
                    category=form.cleaned_data["category"],
                    acting_user=signed_in_user(request),
                    language=translation.get_language(),
                )
            except ApplicationError as error:
                if error.field == "category":
                    form.add_error("category", str(error.message))
                    status = _shown_on_form(error)
                else:
                    status = error_shown(request, error)
            else:
                return redirect("visas:edit", application.reference, STEP_NAMES[0])
        elif form.errors:
            status = 400  # the page's summary names each error
        else:
            status = form_error_shown(request, form)
    return render(
        request,
        "visas/apply/list.html",
        {
            "applications": selectors.applications_for_owner(user=signed_in_user(request)),
            "categories": categories,
            "form": form,
        },
        status=status,
    )


def _values(application: VisaApplication) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: getattr(application, name) or "" for name in ApplicationForm.base_fields
    }
    for code, answer in services.application_answers(application=application).items():
        values[services.QUESTION_PREFIX + code] = answer
    return values


def _review_rows(application: VisaApplication) -> list[dict[str, Any]]:
    """The form's answers as the review shows them: a date as a date (formatted in the reader's
    language by the page), a choice by its label, a text as typed."""
    choices: dict[str, dict[str, Any]] = {
        "entries": dict(Entries.choices),
        "sex": dict(Sex.choices),
    }
    rows = []
    for name, field in ApplicationForm.base_fields.items():
        value = getattr(application, name)
        row: dict[str, Any] = {"name": name, "label": field.label, "date": None, "text": ""}
        if isinstance(value, dt.date):
            row["date"] = value
        elif name in choices:
            row["text"] = choices[name].get(value, value) if value else ""
        else:
            row["text"] = value or ""
        rows.append(row)
    return rows


def _answer_rows(application: VisaApplication) -> list[dict[str, Any]]:
    """The category's questions with their answers: a date as a date, yes or no as a word."""
    category = services.application_category(application=application)
    answers = services.application_answers(application=application)
    rows = []
    for question in services.category_questions(category=category):
        answer = answers.get(question.code, "")
        row: dict[str, Any] = {"label": question.label, "date": None, "text": answer, "yes_no": ""}
        if question.kind == QuestionKind.DATE and answer:
            with contextlib.suppress(ValueError):
                row["date"] = dt.date.fromisoformat(answer)
        elif question.kind == QuestionKind.YES_NO and answer in ("yes", "no"):
            row["yes_no"] = answer
        rows.append(row)
    return rows


def _missing_rows(application: VisaApplication, missing: dict[str, str]) -> list[dict[str, Any]]:
    """The missing list as the page shows it: each with its label and the step to fix it on."""
    category = services.application_category(application=application)
    labels: dict[str, Any] = {
        name: field.label for name, field in ApplicationForm.base_fields.items()
    }
    labels["category"] = gettext_lazy("Visa category")
    for question in services.category_questions(category=category):
        labels[services.QUESTION_PREFIX + question.code] = question.label
    for item in services.category_items(category=category):
        labels[services.ITEM_PREFIX + item.code] = item.label
    labels[services.ITEM_PREFIX + FORM_ITEM] = FORM_LABEL
    return [
        {
            "name": name,
            "label": labels.get(name, name),
            "message": message,
            "step": _step_of(name),
        }
        for name, message in missing.items()
    ]


def _step_form(
    application: VisaApplication, step: str, data: Any = None
) -> ApplicationForm | QuestionsForm | None:
    if step in services.STEP_FIELDS:
        return ApplicationForm(data, initial=None if data else _values(application), step=step)
    if step == "questions":
        category = services.application_category(application=application)
        return QuestionsForm(
            data,
            initial=None if data else _values(application),
            questions=services.category_questions(category=category),
        )
    return None


def _edit_page(
    request: HttpRequest,
    application: VisaApplication,
    step: str,
    *,
    form: ApplicationForm | QuestionsForm | None = None,
    upload_errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    index = STEP_NAMES.index(step)
    # during corrections not asked on the form, its values are shown as text: nothing to send
    locked = step in FORM_STEPS and services.form_locked(application=application)
    if locked:
        form = None
    elif form is None:
        form = _step_form(application, step)
    if form is not None:
        form.describe()
    missing = services.application_missing(application=application)
    category = services.application_category(application=application)
    context: dict[str, Any] = {
        "application": application,
        "category": category,
        "step": step,
        "step_label": STEPS[index][1],
        "step_number": index + 1,
        "step_count": len(STEPS),
        "steps": [
            {"name": name, "label": label, "number": number, "current": name == step}
            for number, (name, label) in enumerate(STEPS, start=1)
        ],
        "previous_step": STEP_NAMES[index - 1] if index > 0 else None,
        "next_step": STEP_NAMES[index + 1] if index + 1 < len(STEPS) else None,
        "form": form,
        "missing": missing,
        "missing_rows": _missing_rows(application, missing),
        "upload_errors": upload_errors or {},
        "corrections": application.status == VisaStatus.CORRECTIONS,
        "form_correction": selectors.form_correction(application=application),
        "form_locked": locked,
        "zone": _mission(request).zone,
    }
    if step in ("documents", "review"):
        context["checklist"] = selectors.application_checklist(application=application)
        context["upload_form"] = UploadForm()
    if step in ("travel", "review"):
        # said where the arrival is typed (under its field) and before sending; it never stops
        # the sending
        context["arrival_too_soon"] = selectors.arrival_too_soon(
            application=application, category=category
        )
        context["arrival_in_form"] = form is not None and "entry_date" in form.fields
    if step == "review":
        context["review_rows"] = _review_rows(application)
        context["answer_rows"] = _answer_rows(application)
    if locked:
        shown = services.STEP_FIELDS.get(step, ())
        context["review_rows"] = [row for row in _review_rows(application) if row["name"] in shown]
        context["answer_rows"] = _answer_rows(application) if step == "questions" else []
        context["form_not_asked"] = services.FORM_NOT_ASKED
    return render(request, "visas/apply/edit.html", context, status=status)


@login_required
def application_edit_start(request: HttpRequest, reference: str) -> HttpResponse:
    application = _own(request, reference)
    return redirect("visas:edit", application.reference, STEP_NAMES[0])


@login_required
def application_edit(request: HttpRequest, reference: str, step: str) -> HttpResponse:
    """One step of the form: "Save and continue" saves it and goes on, "Back" saves and goes
    back; on the last one, "Submit" (or, during corrections, "Send the corrections")."""
    application = _own(request, reference)
    if step not in STEP_NAMES:
        raise Http404
    if not _editable(application):
        if request.method == "POST" and "submit" in request.POST:
            return _sent_already(request, application)  # a second tap on "Submit"
        return redirect("visas:application", application.reference)
    if request.method != "POST":
        return _edit_page(request, application, step)
    index = STEP_NAMES.index(step)
    form = _step_form(application, step, request.POST)
    if form is not None:
        form_for_service_errors(form)
        # what the page sent (a browser sends every field; a value left out is left as it is)
        data = {name: request.POST[name] for name in form.fields if name in request.POST}
        try:
            services.application_draft_save(
                application=application, data=data, acting_user=signed_in_user(request)
            )
        except ApplicationError as error:
            errors_on_form(form, error)
            # the page's error summary and each field say why: no banner repeating the first;
            # a locked form's page shows no fields (a forged post), so the banner says it
            shown = bool(error.errors) and not services.form_locked(application=application)
            status = _shown_on_form(error) if shown else error_shown(request, error)
            return _edit_page(request, application, step, form=form, status=status)
    if step == "review" and "submit" in request.POST:
        corrections = application.status == VisaStatus.CORRECTIONS
        try:
            services.application_submit(
                application=application, acting_user=signed_in_user(request)
            )
        except ApplicationError as error:
            return _sent_meanwhile(request, application) or _edit_page(
                request, application, step, status=error_shown(request, error)
            )
        if corrections:
            messages.success(
                request, _("Your corrections are sent. The mission checks your file again.")
            )
        else:
            messages.success(
                request,
                _("Your application is sent. The mission checks that your file is complete."),
            )
        return redirect("visas:application", application.reference)
    if "back" in request.POST and index > 0:
        return redirect("visas:edit", application.reference, STEP_NAMES[index - 1])
    if "save" in request.POST or index + 1 >= len(STEPS):
        messages.success(request, _("Saved. You can come back to it from any device."))
        return redirect("visas:edit", application.reference, step)
    return redirect("visas:edit", application.reference, STEP_NAMES[index + 1])


@login_required
@require_POST
def application_autosave(request: HttpRequest, reference: str) -> JsonResponse:
    """What the page's script sends as the person types: the valid values are saved, each
    refused one answered with its message."""
    application = _own(request, reference)
    try:
        saved = services.application_draft_autosave(
            application=application, data=request.POST, acting_user=signed_in_user(request)
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
            "missing": services.application_missing(application=saved.application),
            # the journey's step says at once whether the arrival typed is too soon
            "notices": _arrival_notices(request, saved),
        },
        status=400 if saved.errors else 200,
    )


def _arrival_notices(request: HttpRequest, saved: Any) -> dict[str, str]:
    """For a save that sent an arrival: the journey's step's warning of an arrival before the
    decision can be ready, rendered as the page renders it, or "" when there is none (or the
    arrival typed was refused: the warning never speaks of a date the field refuses). Nothing
    for a save without one."""
    if "entry_date" not in request.POST:
        return {}
    application = saved.application
    soon = (
        None
        if "entry_date" in saved.errors
        else selectors.arrival_too_soon(
            application=application,
            category=services.application_category(application=application),
        )
    )
    if soon is None:
        return {"arrival-notice": ""}
    html = render_to_string(
        "visas/apply/_arrival_too_soon.html",
        {"arrival_too_soon": soon, "application": application, "step": "travel"},
        request=request,
    )
    return {"arrival-notice": html}


@login_required
@require_POST
def application_upload(request: HttpRequest, reference: str, item: str) -> HttpResponse:
    """A file for one item of the checklist, from the documents step or the status page."""
    application = _own(request, reference)
    back = request.POST.get("next") == "status"
    form = UploadForm(request.POST, request.FILES)
    problem: ApplicationError | None = None
    status = 400
    if form.is_valid():
        try:
            services.application_upload_add(
                application=application,
                item=item,
                data=form.cleaned_data["file"],
                filename=getattr(request.FILES.get("file"), "name", "") or "",
                acting_user=signed_in_user(request),
            )
        except ApplicationError as error:
            problem = error
            # the page's summary and the item say why (once it renders: else the banner)
            status = (
                _shown_on_form(error) if _editable(application) else error_shown(request, error)
            )
        else:
            messages.success(request, _("Your file is added."))
            if back:
                return redirect("visas:application", application.reference)
            return redirect(
                reverse("visas:edit", args=[application.reference, "documents"]) + f"#item-{item}"
            )
    elif not _editable(application):
        status = form_error_shown(request, form)
    if not _editable(application):
        return redirect("visas:application", application.reference)
    message = (
        str(problem.message)
        if problem is not None
        else str(next(iter(form.errors.values()))[0])
        if form.errors
        else ""
    )
    if back:
        return _status_page(request, application, upload_errors={item: message}, status=status)
    return _edit_page(
        request, application, "documents", upload_errors={item: message}, status=status
    )


def _status_page(
    request: HttpRequest,
    application: VisaApplication,
    *,
    upload_errors: dict[str, str] | None = None,
    missing: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    booking = selectors.application_booking(application=application)
    booked = selectors.booking_pending(application=application, booking=booking)
    assessment = selectors.application_assessment(application=application)
    paid = selectors.assessment_paid(assessment)
    return render(
        request,
        "visas/apply/detail.html",
        {
            "application": application,
            "category": services.application_category(application=application),
            "clock": selectors.legal_clock(
                application=application, booked=booked is not None, paid=paid
            ),
            "checklist": selectors.application_checklist(application=application),
            "form_correction": selectors.form_correction(application=application),
            "timeline": selectors.application_timeline(application=application),
            "steps": selectors.steps_read(application=application),
            "assessment": assessment,
            "booking": booking,
            "booked": booked,
            "evisa": application.status in PRINTABLE and bool(application.visa_mrz),
            "upload_form": UploadForm(),
            "upload_errors": upload_errors or {},
            "missing": _missing_rows(application, missing) if missing else [],
            "zone": _mission(request).zone,
        },
        status=status,
    )


@login_required
def application_detail(request: HttpRequest, reference: str) -> HttpResponse:
    """The status page: what is waited for, the legal clock, the checklist and each item's
    review, the fee, the appointment, the timeline."""
    application = _own(request, reference)
    if application.status == VisaStatus.DRAFT:
        return redirect("visas:edit", application.reference, STEP_NAMES[0])
    return _status_page(request, application)


@login_required
@require_POST
def application_corrections_send(request: HttpRequest, reference: str) -> HttpResponse:
    application = _own(request, reference)
    try:
        services.application_submit(application=application, acting_user=signed_in_user(request))
    except ApplicationError as error:
        if sent := _sent_meanwhile(request, application):
            return sent
        missing = {name: problems[0] for name, problems in error.errors.items()}
        # the page's summary names each missing piece; a refusal that names none, a banner
        status = _shown_on_form(error) if missing else error_shown(request, error)
        return _status_page(request, application, missing=missing, status=status)
    messages.success(request, _("Your corrections are sent. The mission checks your file again."))
    return redirect("visas:application", application.reference)


@login_required
def application_visit(request: HttpRequest, reference: str) -> HttpResponse:
    """Book the appointment once the file is complete: the free times of the service the
    mission set for visas, one day at a time (`?day=`; the first day with a free time unless
    another is asked), any day of the service's horizon reachable."""
    application = _own(request, reference)
    status = 200
    if request.method == "POST":
        try:
            slot_id = int(request.POST.get("slot", "")[:12])
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
                request, _("Your appointment is booked. The confirmation is in your e-mail.")
            )
            return redirect("visas:application", application.reference)
    service = None
    if application.can_book():
        try:
            service = services.visit_service()
        except ApplicationError as error:
            status = error_shown(request, error)
    elif request.method != "POST":
        messages.error(
            request,
            _("The appointment is booked once the mission has found your file complete."),
        )
        status = 400
    mission = _mission(request)
    return render(
        request,
        "visas/apply/visit.html",
        {
            "application": application,
            "service": service,
            # one day's times at a time, as the appointments calendar shows them
            **slot_day_choice(
                service=service, mission=mission, asked=DayForm(request.GET).day_asked()
            ),
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
        return redirect("visas:application", application.reference)
    messages.success(request, _("Your application is withdrawn."))
    return redirect("visas:list")


@login_required
def application_evisa(request: HttpRequest, reference: str) -> HttpResponse:
    """The holder's e-visa as a PDF, sealed, to print or show (an annulled or revoked one is
    marked so on the page); not found before the visa is issued."""
    application = _own(request, reference)
    if application.status not in PRINTABLE or not application.visa_mrz:
        raise Http404
    try:
        pdf = evisa_pdf(application=application)
    except ApplicationError as error:
        if error.http_status == 404:
            raise Http404 from None
        error_shown(request, error)
        return redirect("visas:application", application.reference)
    return file_response(
        pdf, content_type="application/pdf", filename=f"evisa-{application.reference}.pdf"
    )
