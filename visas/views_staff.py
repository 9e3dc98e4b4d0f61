"""The mission's visa casework pages (/staff/visas/ on the mission's host): the queue with the
legal clock, and a case with its checklist, uploads, completeness check, visit, screening,
recommendation, decision, extension, appeal and the end of a visa. Thin: a form parses, a
service decides, `error_shown` shows why it refused. A page someone may not open is a 404. A
step sent twice (a double click, a second tap on a slow connection) leads to the case as it
stands with "This was recorded already" (`recorded_already`), not to the service's refusal."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from consulate.kernel.accounts.models import User
from consulate.kernel.errors import (
    ApplicationError,
    error_shown,
    recorded_already,
    refusal_shown,
)
from consulate.kernel.http import SearchForm, query_string_cleaned_by
from missions.models import Mission
from missions.permissions import Action, staff_access

from . import selectors_casework as selectors
from .forms_staff import (
    AppealDecideForm,
    AppealRecordForm,
    AttendForm,
    CompletenessForm,
    DecideForm,
    ExtendForm,
    HitResolveForm,
    RecommendForm,
    VisaEndForm,
)
from .models import (
    OPEN,
    Appeal,
    AppealStatus,
    ItemReview,
    ScreeningHit,
    Upload,
    UploadKind,
    VisaApplication,
    VisaStatus,
)
from .services import casework, screening
from .views import file_response

_EXTENSIONS = {UploadKind.PDF: "pdf", UploadKind.JPEG: "jpg", UploadKind.PNG: "png"}


def _mission(request: HttpRequest) -> Mission:
    return request.tenant  # type: ignore[attr-defined,no-any-return]


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _staff(request: HttpRequest, action: Action = Action.VISA_VIEW) -> frozenset[Action]:
    return staff_access(user=request.user, mission=_mission(request), action=action)


def _case(
    request: HttpRequest, reference: str, action: Action = Action.VISA_VIEW
) -> VisaApplication:
    """The case for a staff page that needs `action` (404 for anyone without it)."""
    _staff(request, action)
    return selectors.application_get_for_staff(reference=reference, acting_user=_user(request))


@query_string_cleaned_by(SearchForm)
@login_required
def staff_queue(request: HttpRequest) -> HttpResponse:
    _staff(request)
    status_filter = request.GET.get("status", "")
    search = SearchForm(request.GET)
    query = search.query()
    rows = selectors.application_queue(
        acting_user=_user(request), status=status_filter, query=query
    )
    return render(
        request,
        "visas/staff/queue.html",
        {
            "rows": rows,
            "statuses": [c for c in VisaStatus.choices if c[0] != VisaStatus.DRAFT],
            "open_statuses": list(OPEN),
            "status_filter": status_filter,
            "search": search,
            "query": query,
            "today": _mission(request).today(),
        },
        status=200 if search.is_valid() else 400,
    )


def _case_page(
    request: HttpRequest,
    application: VisaApplication,
    *,
    status: int = 200,
    bound: Mapping[str, forms.Form] | None = None,
    hit_posted: int | None = None,
) -> HttpResponse:
    """The case page; `bound`: a form the page shows as it was sent (by its name in the page,
    "recommend_form"), with the refusals beside its fields and the typed text in its boxes
    (`hit_posted`: the match whose form `hit_form` is), each refusal named at the top in the
    page's error summary too (`refused_form`)."""
    checklist = selectors.case_checklist(application=application)
    form_review = selectors.case_form_review(application=application)
    appeal = selectors.case_appeal(application=application)
    mission = _mission(request)
    try:
        category = casework.category_of(application)
    except ApplicationError:
        category = None
    return render(
        request,
        "visas/staff/case.html",
        {
            "application": application,
            "category": category,
            "checklist": checklist,
            "form_review": form_review,
            "form_changes": selectors.case_form_changes(
                application=application, review=form_review
            ),
            "answers": _answers(application),
            "withdrawn": selectors.case_corrections_withdrawn(application=application),
            "status_label": selectors.staff_status_label(
                application,
                selectors.bookings_starts([application]).get(application.booking_id)
                if application.booking_id and application.status == VisaStatus.COMPLETE
                else None,
                selectors.rechecks([application], selectors.categories_here()).get(application.pk),
            ),
            "paid": casework.application_paid(application=application),
            "screening": selectors.case_screening(application=application),
            "appeal": appeal,
            "appeal_deadline": casework.appeal_deadline(application),
            "extension_limit": casework.extension_limit(application),
            "staff": selectors.staff_names(application=application, appeal=appeal),
            "steps": list(application.steps.order_by("-happened_at", "-id")),
            "completeness_form": _completeness_form(application, checklist, form_review),
            "attend_form": AttendForm(),
            "hit_form": HitResolveForm(),
            "hit_posted": hit_posted,
            "recommend_form": RecommendForm(),
            "decide_form": DecideForm(),
            "extend_form": ExtendForm(),
            "appeal_record_form": AppealRecordForm(initial={"lodged_on": mission.today()}),
            "appeal_decide_form": AppealDecideForm(),
            "end_form": VisaEndForm(),
            "today": mission.today(),
            "zone": mission.zone,
            "appeal_lodged": appeal is not None and appeal.status == AppealStatus.LODGED,
            "refused_form": next((form for form in (bound or {}).values() if form.errors), None),
        }
        | dict(bound or {}),
        status=status,
    )


def _completeness_form(
    application: VisaApplication,
    checklist: list[selectors.ChecklistRow],
    form_review: ItemReview | None,
    data: Any = None,
) -> CompletenessForm:
    """The completeness check for the case (`data`: as sent), the acceptances a re-check keeps
    shown as such."""
    kept = (
        selectors.completeness_kept(checklist=checklist, form_review=form_review)
        if application.status == VisaStatus.SUBMITTED
        else {}
    )
    return CompletenessForm(data, items=[row.item for row in checklist], kept=kept)


def _recorded(
    request: HttpRequest,
    application: VisaApplication,
    record: Appeal | ScreeningHit | None = None,
    **values: Any,
) -> HttpResponse | None:
    """A step the service refused because this person's same step has just recorded it (the
    application's latest change, or `record`'s: the appeal, the match, holds `values`): the
    case as it stands with a calm notice (`recorded_already`); else None, the refusal stands.
    Asked before the refusal is shown."""
    page = reverse("visas_staff:case", args=[application.reference])
    return recorded_already(request, application if record is None else record, page=page, **values)


def _refused_page(
    request: HttpRequest,
    application: VisaApplication,
    error: ApplicationError,
    *,
    form: forms.Form | None = None,
    name: str = "",
    renamed: dict[str, str] | None = None,
    hit_posted: int | None = None,
) -> HttpResponse:
    """The case as it stands (read again: another person may have moved it meanwhile) with the
    service's refusal: beside `form`'s fields and in the error summary, the form shown as it
    was sent (`name`: the page's name for it), or as the page's message for a step without
    one (`_refused`)."""
    application.refresh_from_db()
    if form is None:
        return _case_page(request, application, status=error_shown(request, error))
    status = refusal_shown(request, form, error, renamed=renamed)
    return _case_page(
        request, application, status=status, bound={name: form}, hit_posted=hit_posted
    )


def _answers(application: VisaApplication) -> list[tuple[str, str]]:
    """The category's questions with the applicant's answers, in the category's order."""
    import json

    from .reference.models import CategoryQuestion

    try:
        given = json.loads(application.answers or "{}")
        category = casework.category_of(application)
    except (ValueError, ApplicationError):
        return []
    return [
        (question.label, selectors.answer_words(question.kind, given.get(question.code, "")))
        for question in CategoryQuestion.objects.filter(category=category)
    ]


@login_required
def staff_case(request: HttpRequest, reference: str) -> HttpResponse:
    return _case_page(request, _case(request, reference))


@login_required
def staff_upload(request: HttpRequest, reference: str, upload_id: int) -> HttpResponse:
    """One uploaded file, decrypted, as a download (never shown inline, never cached)."""
    application = _case(request, reference)
    upload = selectors.upload_get_for_staff(application=application, upload_id=upload_id)
    return file_response(
        base64.b64decode(upload.content),
        content_type=upload.content_type,
        filename=f"{application.reference}-{upload.item}-{upload.pk}.{_extension(upload)}",
    )


def _extension(upload: Upload) -> str:
    return _EXTENSIONS.get(upload.content_type, "bin")  # type: ignore[call-overload]


@login_required
def staff_evisa(request: HttpRequest, reference: str) -> HttpResponse:
    """The issued e-visa as a PDF (the same one the holder downloads)."""
    application = _case(request, reference)
    if application.status != VisaStatus.ISSUED:
        raise Http404
    from .evisa_pdf import evisa_pdf

    try:
        pdf = evisa_pdf(application=application)
    except ApplicationError as error:
        error_shown(request, error)
        return redirect("visas_staff:case", application.reference)
    return file_response(
        pdf,
        content_type="application/pdf",
        filename=f"evisa-{application.reference}.pdf",
    )


def _done(request: HttpRequest, application: VisaApplication, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("visas_staff:case", application.reference)


@login_required
@require_POST
def staff_completeness(request: HttpRequest, reference: str) -> HttpResponse:
    application = _case(request, reference, Action.VISA_PROCESS)
    form = _completeness_form(
        application,
        selectors.case_checklist(application=application),
        selectors.case_form_review(application=application),
        request.POST,
    )
    if not form.is_valid():
        # every reason is named in the page's error summary, each a link to its field
        return _case_page(request, application, status=400, bound={"completeness_form": form})
    decisions = form.decisions()
    try:
        application = casework.completeness_review(
            application=application,
            decisions=decisions,
            due_on=form.cleaned_data.get("due_on"),
            acting_user=_user(request),
        )
    except ApplicationError as error:
        # the check sent twice: complete when it accepted everything, else corrections asked
        accepted = all(accepted for accepted, _reason in decisions.values())
        done = VisaStatus.COMPLETE if accepted else VisaStatus.CORRECTIONS
        return _recorded(request, application, status=done) or _refused_page(
            request, application, error, form=form, name="completeness_form"
        )
    if application.status == VisaStatus.COMPLETE:
        return _done(request, application, _("Complete: the legal clock runs from now."))
    return _done(request, application, _("Corrections asked for: the applicant is told."))


@login_required
@require_POST
def staff_attend(request: HttpRequest, reference: str) -> HttpResponse:
    application = _case(request, reference, Action.VISA_PROCESS)
    form = AttendForm(request.POST)
    form.is_valid()
    try:
        casework.application_attend(
            application=application,
            identity_confirmed=bool(form.cleaned_data.get("identity_confirmed")),
            acting_user=_user(request),
        )
    except ApplicationError as error:
        return _recorded(request, application, status=VisaStatus.ATTENDED) or _refused_page(
            request, application, error, form=form, name="attend_form"
        )
    return _done(request, application, _("Visit recorded."))


@login_required
@require_POST
def staff_screen(request: HttpRequest, reference: str) -> HttpResponse:
    application = _case(request, reference, Action.VISA_PROCESS)
    try:
        run = screening.screening_run(application=application, acting_user=_user(request))
    except ApplicationError as error:
        return _refused_page(request, application, error)
    if run.result == "clear":
        return _done(request, application, _("Screened: no match."))
    return _done(request, application, _("Screened: look at each match below."))


def _act(
    request: HttpRequest,
    application: VisaApplication,
    form: forms.Form,
    act: Callable[[dict[str, Any], Any], object],
    done: Any,
    *,
    name: str,
    recorded: Callable[[dict[str, Any]], HttpResponse | None],
    hit_posted: int | None = None,
) -> HttpResponse:
    """A staff form's one shape: the form's refusals or the service's shown on the case page,
    the form as it was sent (`name`: the page's name for it), else the case page again with
    `done`. `act(cleaned_data, user)` calls the service; `recorded(cleaned_data)` says whether
    its refusal is this person's same step, recorded a moment ago (`_recorded`)."""
    if not form.is_valid():
        # every reason is named in the page's error summary, each a link to its field
        return _case_page(
            request, application, status=400, bound={name: form}, hit_posted=hit_posted
        )
    try:
        act(form.cleaned_data, _user(request))
    except ApplicationError as error:
        return recorded(form.cleaned_data) or _refused_page(
            request, application, error, form=form, name=name, hit_posted=hit_posted
        )
    return _done(request, application, done)


@login_required
@require_POST
def staff_hit(request: HttpRequest, reference: str, hit_id: int) -> HttpResponse:
    application = _case(request, reference, Action.VISA_PROCESS)
    hit = ScreeningHit.objects.filter(pk=hit_id, screening__application=application).first()
    if hit is None:
        raise Http404
    return _act(
        request,
        application,
        # its fields named by the match (`reason-<pk>`): the page holds one form per match
        HitResolveForm(request.POST, auto_id=f"%s-{hit.pk}"),
        lambda data, user: screening.screening_hit_resolve(
            hit=hit, resolution=data["resolution"], reason=data["reason"], acting_user=user
        ),
        _("Match decided."),
        name="hit_form",
        recorded=lambda data: _recorded(request, application, hit, resolution=data["resolution"]),
        hit_posted=hit.pk,
    )


@login_required
@require_POST
def staff_recommend(request: HttpRequest, reference: str) -> HttpResponse:
    application = _case(request, reference, Action.VISA_PROCESS)
    return _act(
        request,
        application,
        RecommendForm(request.POST),
        lambda data, user: casework.application_recommend(
            application=application,
            issue=data["recommendation"] == "issue",
            grounds=data["grounds"],
            note=data["note"],
            acting_user=user,
        ),
        _("Recommendation recorded: a consul decides next."),
        name="recommend_form",
        recorded=lambda data: _recorded(request, application, status=VisaStatus.RECOMMENDED),
    )


# What each of the consul's choices makes of the case (sent back: to the officers again).
DECIDED = {
    "issue": VisaStatus.ISSUED,
    "refuse": VisaStatus.REFUSED,
    "return": VisaStatus.ATTENDED,
}


@login_required
@require_POST
def staff_decide(request: HttpRequest, reference: str) -> HttpResponse:
    application = _case(request, reference, Action.VISA_DECIDE)
    form = DecideForm(request.POST)
    shown = {"decide_form": form}
    if not form.is_valid():
        return _case_page(request, application, status=400, bound=shown)
    decision = request.POST.get("decision", "")
    if decision not in DECIDED:
        messages.error(request, _("Choose issue, refuse or send back."))
        return _case_page(request, application, status=400, bound=shown)
    data = form.cleaned_data
    try:
        if decision == "return":
            casework.application_return(
                application=application, reason=data["note"], acting_user=_user(request)
            )
        else:
            casework.application_decide(
                application=application,
                issue=decision == "issue",
                grounds=data["grounds"],
                note=data["note"],
                acting_user=_user(request),
                valid_from=data.get("valid_from"),
                valid_until=data.get("valid_until"),
                entries=data.get("entries") or None,
                duration_days=data.get("duration_days"),
            )
    except ApplicationError as error:
        # sending back, the service's "reason" is the form's note
        return _recorded(request, application, status=DECIDED[decision]) or _refused_page(
            request, application, error, form=form, name="decide_form", renamed={"reason": "note"}
        )
    return _done(request, application, _("Decision recorded: the applicant is told."))


@login_required
@require_POST
def staff_extend(request: HttpRequest, reference: str) -> HttpResponse:
    application = _case(request, reference, Action.VISA_DECIDE)
    return _act(
        request,
        application,
        ExtendForm(request.POST),
        lambda data, user: casework.deadline_extend(
            application=application, until=data["until"], reason=data["reason"], acting_user=user
        ),
        _("Decision period extended: the applicant is told."),
        name="extend_form",
        recorded=lambda data: _recorded(request, application, extended_due_on=data["until"]),
    )


@login_required
@require_POST
def staff_appeal_record(request: HttpRequest, reference: str) -> HttpResponse:
    application = _case(request, reference, Action.VISA_PROCESS)
    return _act(
        request,
        application,
        AppealRecordForm(request.POST),
        lambda data, user: casework.appeal_record(
            application=application,
            lodged_on=data["lodged_on"],
            statement=data["statement"],
            acting_user=user,
        ),
        _("Appeal recorded: another consul decides it."),
        name="appeal_record_form",
        recorded=lambda data: _recorded(request, application, status=VisaStatus.APPEALED),
    )


# What each choice on an appeal makes of it.
APPEAL_DECIDED = {"uphold": AppealStatus.UPHELD, "grant": AppealStatus.GRANTED}


@login_required
@require_POST
def staff_appeal_decide(request: HttpRequest, reference: str) -> HttpResponse:
    application = _case(request, reference, Action.VISA_DECIDE)
    appeal = selectors.case_appeal(application=application)
    decision = request.POST.get("decision", "")
    if appeal is None:
        raise Http404
    if appeal.status != AppealStatus.LODGED:
        # decided: by this consul's same choice a moment ago (sent twice), else nothing to decide
        done = APPEAL_DECIDED.get(decision)
        recorded = _recorded(request, application, appeal, status=done) if done else None
        if recorded is None:
            raise Http404
        return recorded
    form = AppealDecideForm(request.POST)
    shown = {"appeal_decide_form": form}
    if not form.is_valid():
        return _case_page(request, application, status=400, bound=shown)
    if decision not in APPEAL_DECIDED:
        messages.error(request, _("Choose: the refusal stands, or examine again."))
        return _case_page(request, application, status=400, bound=shown)
    try:
        casework.appeal_decide(
            appeal=appeal,
            uphold=decision == "uphold",
            note=form.cleaned_data["note"],
            acting_user=_user(request),
        )
    except ApplicationError as error:
        done = APPEAL_DECIDED[decision]
        return _recorded(request, application, appeal, status=done) or _refused_page(
            request, application, error, form=form, name="appeal_decide_form"
        )
    return _done(request, application, _("Appeal decided: the applicant is told."))


# What each way of ending a visa makes of the case.
ENDED = {"annul": VisaStatus.ANNULLED, "revoke": VisaStatus.REVOKED}


@login_required
@require_POST
def staff_end(request: HttpRequest, reference: str) -> HttpResponse:
    application = _case(request, reference, Action.VISA_DECIDE)
    form = VisaEndForm(request.POST)
    shown = {"end_form": form}
    if not form.is_valid():
        return _case_page(request, application, status=400, bound=shown)
    decision = request.POST.get("decision", "")
    if decision not in ENDED:
        messages.error(request, _("Choose annul or revoke."))
        return _case_page(request, application, status=400, bound=shown)
    try:
        casework.visa_end(
            application=application,
            revoke=decision == "revoke",
            grounds=form.cleaned_data["grounds"],
            note=form.cleaned_data["note"],
            acting_user=_user(request),
        )
    except ApplicationError as error:
        return _recorded(request, application, status=ENDED[decision]) or _refused_page(
            request, application, error, form=form, name="end_form"
        )
    return _done(request, application, _("The visa is ended: the holder is told."))
