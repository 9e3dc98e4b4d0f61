"""Pages of the emergency travel document: the citizen applies online, follows it and downloads
the PDF once issued; the mission lists them, records a request at the counter, issues and
revokes. Thin: a form parses, a service decides, `error_shown` shows why it refused."""

from __future__ import annotations

import functools
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from consulate.kernel import reference
from consulate.kernel.errors import (
    ApplicationError,
    error_shown,
    form_error_shown,
    recorded_already,
    refusal_shown,
)
from consulate.kernel.seal import country_alpha2
from missions.models import Mission
from missions.permissions import Action, staff_access

from . import selectors
from .etd_pdf import etd_pdf
from .forms import PhotoForm
from .models import EmergencyTravelDocument, EtdStatus, ReportKind, Sex
from .mrz import ICAO_CODES
from .register.seal_keys import issuing_state
from .services import etd as etd_services
from .views import signed_in_user


@functools.cache
def _countries(language: str) -> list[tuple[str, str]]:
    """The countries a person picks from, by name in their language (the MRZ's ICAO code
    behind each), the issuing State first. Codes that name no single country (D's old
    aliases, UN, stateless, specimen) are left out of a citizen's list."""
    with translation.override(language):
        named = []
        for code in ICAO_CODES:
            alpha2 = country_alpha2(code)
            if alpha2 is None or (len(code) != 3):
                continue
            named.append((code, reference.country_name(alpha2)))
    home = issuing_state()
    first = [item for item in named if item[0] == home]
    rest = sorted((item for item in named if item[0] != home), key=lambda item: item[1])
    return [("", "—"), *first, *rest]


def _date_input() -> forms.DateInput:
    # always ISO: a date box reads only YYYY-MM-DD, whatever the page's language
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class EtdRequestForm(forms.Form):
    """What a request says. Every field is text here; the service cleans and refuses
    (`etd_request_clean`, which names every missing one at once). The fields it refuses empty
    are `needed`, so the page does not call them optional (_form_field.html)."""

    # all but the given names (a person may have none, as in the passport) and what happened
    NEEDED = (
        "surname", "birth_date", "sex", "nationality", "lost_document", "report_kind",
        "destination_country", "destination_city", "journey_date", "valid_until",
    )  # fmt: skip

    surname = forms.CharField(label=gettext_lazy("Surname"), required=False, max_length=100)
    given_names = forms.CharField(label=gettext_lazy("Given names"), required=False, max_length=100)
    birth_date = forms.CharField(
        label=gettext_lazy("Date of birth"), required=False, widget=_date_input()
    )
    sex = forms.ChoiceField(
        label=gettext_lazy("Sex"), required=False, choices=[("", "—"), *Sex.choices]
    )
    nationality = forms.ChoiceField(label=gettext_lazy("Nationality"), required=False)
    lost_document = forms.CharField(
        label=gettext_lazy("Number of the lost or stolen passport"),
        required=False,
        max_length=40,
    )
    report_kind = forms.ChoiceField(
        label=gettext_lazy("The passport was"),
        required=False,
        choices=ReportKind.choices,
        widget=forms.RadioSelect,
    )
    circumstances = forms.CharField(
        label=gettext_lazy("What happened (where, when; a police reference for a theft)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    destination_country = forms.ChoiceField(
        label=gettext_lazy("Destination country"), required=False
    )
    destination_city = forms.CharField(
        label=gettext_lazy("Destination city"), required=False, max_length=100
    )
    journey_date = forms.CharField(
        label=gettext_lazy("Date of the journey"), required=False, widget=_date_input()
    )
    valid_until = forms.CharField(
        label=gettext_lazy("Valid until"),
        required=False,
        widget=_date_input(),
        help_text=gettext_lazy(
            "The last day the document may be used: from the journey's day, at most 15 days "
            "from today."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        countries = _countries(translation.get_language() or "en")
        for name in ("nationality", "destination_country"):
            self.fields[name].choices = countries  # type: ignore[attr-defined]
        for name in self.NEEDED:
            self.fields[name].needed = True  # type: ignore[attr-defined]


class CounterRequestForm(EtdRequestForm):
    email = forms.CharField(
        label=gettext_lazy("The holder's e-mail"), required=False, max_length=254
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 3})
    )


def _mission(request: HttpRequest) -> Mission:
    return request.tenant  # type: ignore[attr-defined,no-any-return]


def _language() -> str:
    return translation.get_language() or "en"


def _pdf_response(etd: EmergencyTravelDocument, mission: Mission) -> HttpResponse:
    if etd.status == EtdStatus.REQUESTED or not etd.seal:
        raise Http404
    response = HttpResponse(etd_pdf(etd=etd, mission=mission), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="etd-{etd.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- the citizen -----------------------------------------------------------------------------


@login_required
def etd_list(request: HttpRequest) -> HttpResponse:
    """The citizen's ETDs here, and the form to apply for one."""
    form = EtdRequestForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                etd = etd_services.etd_apply(
                    values=form.cleaned_data,
                    acting_user=signed_in_user(request),
                    language=_language(),
                )
            except ApplicationError as error:
                status = refusal_shown(request, form, error)
            else:
                messages.success(
                    request,
                    _("Your request is recorded. Pay the fee; a consul issues the document."),
                )
                return redirect("etd:detail", etd.reference)
        else:  # each reason beside its field and in the page's error summary
            status = 400
    return render(
        request,
        "passports/etd_list.html",
        {
            "documents": selectors.etd_list_for_citizen(user=request.user),
            "form": form,
            "max_days": etd_services.etd_max_days(),
        },
        status=status,
    )


@login_required
def etd_detail(request: HttpRequest, reference: str) -> HttpResponse:
    etd = selectors.etd_get_for_citizen(reference=reference, user=request.user)
    return render(
        request,
        "passports/etd_detail.html",
        {
            "etd": etd,
            "paid": etd_services.etd_paid(etd=etd),
            "assessment": _assessment(etd),
            "zone": _mission(request).zone,
        },
    )


def _assessment(etd: EmergencyTravelDocument) -> object:
    from fees.models import Assessment

    if etd.assessment_id is None:
        return None
    return Assessment.objects.filter(pk=etd.assessment_id).first()


@login_required
def etd_download(request: HttpRequest, reference: str) -> HttpResponse:
    etd = selectors.etd_get_for_citizen(reference=reference, user=request.user)
    return _pdf_response(etd, _mission(request))


# --- the mission -----------------------------------------------------------------------------


def _staff(request: HttpRequest, action: Action = Action.PASSPORT_VIEW) -> frozenset[Action]:
    return staff_access(user=request.user, mission=_mission(request), action=action)


@login_required
def staff_etd_list(request: HttpRequest) -> HttpResponse:
    _staff(request)
    status_filter = request.GET.get("status", "")
    return render(
        request,
        "passports/etd_staff_list.html",
        {
            "rows": selectors.etd_list_for_staff(
                acting_user=signed_in_user(request), status=status_filter
            ),
            "statuses": EtdStatus.choices,
            "status_filter": status_filter,
            "numbers_left": etd_services.etd_numbers_left(),
            "zone": _mission(request).zone,
        },
    )


@login_required
def staff_etd_request(request: HttpRequest) -> HttpResponse:
    """A request recorded at the counter, for a person standing there."""
    _staff(request, Action.ETD_REQUEST)
    form = CounterRequestForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                etd = etd_services.etd_request_record(
                    values=form.cleaned_data,
                    email=form.cleaned_data["email"],
                    language=_language(),
                    acting_user=signed_in_user(request),
                )
            except ApplicationError as error:
                status = refusal_shown(request, form, error)
            else:
                messages.success(
                    request,
                    _("Request recorded: the cashier takes the fee, another consul issues."),
                )
                return redirect("etd:staff_detail", etd.reference)
        else:  # each reason beside its field and in the page's error summary
            status = 400
    return render(
        request,
        "passports/etd_staff_request.html",
        {"form": form, "max_days": etd_services.etd_max_days()},
        status=status,
    )


def _case_page(
    request: HttpRequest, etd: EmergencyTravelDocument, *, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "passports/etd_staff_detail.html",
        {
            "etd": etd,
            "paid": etd_services.etd_paid(etd=etd),
            "revoke_form": RevokeForm(),
            "photo_form": PhotoForm(),
            "own_request": etd.requested_by_id == request.user.pk,
            "zone": _mission(request).zone,
        },
        status=status,
    )


def _case_refused(
    request: HttpRequest, etd: EmergencyTravelDocument, error: ApplicationError, *, done: str
) -> HttpResponse:
    """A step the service refused: the document as it stands if this person's same step moved
    it to `done` meanwhile (`recorded_already`), else its page with the refusal."""
    etd.refresh_from_db()
    page = reverse("etd:staff_detail", args=[etd.reference])
    return recorded_already(request, etd, page=page, status=done) or _case_page(
        request, etd, status=error_shown(request, error)
    )


@login_required
def staff_etd(request: HttpRequest, reference: str) -> HttpResponse:
    _staff(request)
    etd = selectors.etd_get_for_staff(reference=reference, acting_user=signed_in_user(request))
    return _case_page(request, etd)


@login_required
@require_POST
def staff_etd_photo(request: HttpRequest, reference: str) -> HttpResponse:
    _staff(request, Action.ETD_REQUEST)
    etd = selectors.etd_get_for_staff(reference=reference, acting_user=signed_in_user(request))
    form = PhotoForm(request.POST, request.FILES)
    if not form.is_valid():
        return _case_page(request, etd, status=form_error_shown(request, form))
    try:
        etd_services.etd_photo_add(
            etd=etd, data=form.cleaned_data["photo"], acting_user=signed_in_user(request)
        )
    except ApplicationError as error:
        return _case_page(request, etd, status=error_shown(request, error))
    messages.success(request, _("Your photo passed the checks."))
    return redirect("etd:staff_detail", etd.reference)


@login_required
@require_POST
def staff_etd_issue(request: HttpRequest, reference: str) -> HttpResponse:
    _staff(request, Action.ETD_ISSUE)
    etd = selectors.etd_get_for_staff(reference=reference, acting_user=signed_in_user(request))
    try:
        etd = etd_services.etd_issue(etd=etd, acting_user=signed_in_user(request))
    except ApplicationError as error:
        return _case_refused(request, etd, error, done=EtdStatus.ISSUED)
    messages.success(request, _("Issued as %(number)s. Print it now.") % {"number": etd.number})
    return redirect("etd:staff_detail", etd.reference)


@login_required
@require_POST
def staff_etd_revoke(request: HttpRequest, reference: str) -> HttpResponse:
    _staff(request, Action.ETD_ISSUE)
    etd = selectors.etd_get_for_staff(reference=reference, acting_user=signed_in_user(request))
    form = RevokeForm(request.POST)
    if not form.is_valid():
        return _case_page(request, etd, status=form_error_shown(request, form))
    try:
        etd_services.etd_revoke(
            etd=etd, reason=form.cleaned_data["reason"], acting_user=signed_in_user(request)
        )
    except ApplicationError as error:
        return _case_refused(request, etd, error, done=EtdStatus.REVOKED)
    messages.success(request, _("The document is revoked."))
    return redirect("etd:staff_detail", etd.reference)


@login_required
def staff_etd_pdf(request: HttpRequest, reference: str) -> HttpResponse:
    _staff(request)
    etd = selectors.etd_get_for_staff(reference=reference, acting_user=signed_in_user(request))
    return _pdf_response(etd, _mission(request))
