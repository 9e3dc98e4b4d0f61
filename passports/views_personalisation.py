"""HQ's passport pages: the personalisation queue (open, print, dispatch), the number blocks, and
a look-up in the register of issued documents. Thin: the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from consulate.kernel.errors import (
    ApplicationError,
    error_shown,
    refusal_shown,
)
from missions.models import Mission
from missions.permissions import Action, staff_access

from .models import ApplicationKind
from .register import selectors, services
from .register.models import DocumentType, NumberBlock
from .selectors import OtherCase


class NumberBlockForm(forms.Form):
    document_type = forms.ChoiceField(
        label=gettext_lazy("Document type"), choices=DocumentType.choices
    )
    prefix = forms.CharField(  # type: ignore[assignment]  # a field named like BaseForm.prefix
        label=gettext_lazy("Prefix"), max_length=3, required=False
    )
    digits = forms.IntegerField(label=gettext_lazy("Digits"), min_value=1, max_value=9)
    # the service names every number that cannot be (numbers.number_range_check)
    first = forms.IntegerField(label=gettext_lazy("First number"))
    last = forms.IntegerField(label=gettext_lazy("Last number"))


def _named(cases: list[Any]) -> list[Any]:
    """Each case with its kind and missions (its own, the one holding it, those of the same
    person's other open applications) named in the reader's language (two queries)."""
    kinds = dict(ApplicationKind.choices)
    names = {mission.code: mission.name for mission in Mission.objects.only("code", "name")}
    also_open = selectors.personalisation_queue_also_open(cases=cases)
    for case in cases:
        case.kind_label = kinds.get(case.kind, case.kind)
        case.mission_name = names.get(case.mission, case.mission)
        case.held_mission_name = names.get(case.held_mission, case.held_mission)
        case.also_open = [
            OtherCase(mission=str(names.get(code, code)), reference=reference)
            for code, reference in also_open.get(case.pk, [])
        ]
    return cases


def _held(request: HttpRequest) -> frozenset[Action]:
    return staff_access(
        user=request.user,
        mission=request.tenant,  # type: ignore[attr-defined]
        action=Action.HQ_DASHBOARD_VIEW,
    )


def _page(
    request: HttpRequest, *, form: NumberBlockForm | None = None, status: int = 200
) -> HttpResponse:
    held = _held(request)
    number = request.GET.get("number", "").strip()[:20]
    return render(
        request,
        "passports/hq_personalisation.html",
        {
            "cases": _named(selectors.personalisation_queue()),
            "blocks": list(NumberBlock.objects.order_by("document_type", "first")),
            "form": form or NumberBlockForm(),
            "may_personalise": Action.PASSPORT_PERSONALISE in held,
            "number": number,
            "found": selectors.issued_document_status(number=number) if number else None,
            "reported": selectors.reported_document_list(limit=20),
            "zone": request.tenant.zone,  # type: ignore[attr-defined]  # HQ's, as every HQ page
        },
        status=status,
    )


@login_required
def hq_personalisation(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def hq_personalise(request: HttpRequest, pk: int) -> HttpResponse:
    _held(request)
    case = selectors.personalisation_case_get(pk=pk)
    try:
        case = services.personalisation_run(case=case, acting_user=request.user)
    except ApplicationError as error:
        return _page(request, status=error_shown(request, error))
    messages.success(
        request,
        _("Passport %(number)s personalised and sent to the mission.")
        % {"number": case.document_number},
    )
    return redirect("passports_hq:personalisation")


@login_required
@require_POST
def hq_number_block_add(request: HttpRequest) -> HttpResponse:
    _held(request)
    form = NumberBlockForm(request.POST)
    if not form.is_valid():  # each reason beside its field and in the page's error summary
        return _page(request, form=form, status=400)
    try:
        services.number_block_add(acting_user=request.user, **form.cleaned_data)
    except ApplicationError as error:
        return _page(request, form=form, status=refusal_shown(request, form, error))
    messages.success(request, _("Number block added."))
    return redirect("passports_hq:personalisation")
