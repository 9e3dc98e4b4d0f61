"""HQ's visa pages (HQ host, /hq/visas/...): the statistics with their CSV, the watchlist, and
the categories. Thin: the services and selectors decide.

Who: the statistics for those who may read them (`VISA_STATISTICS_VIEW`: HQ analysts and
admins); the watchlist and the categories are read by HQ staff (`VISA_VIEW`) and changed by HQ
admins (`VISA_REFERENCE_MANAGE`, checked again by the services). Anyone else gets 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from consulate.kernel.errors import (
    ApplicationError,
    error_shown,
    form_read,
    form_refused_in_text,
    refusal_shown,
)
from consulate.kernel.http import csv_response, query_string_cleaned_by
from missions.permissions import Action, staff_access

from .forms_hq import CategoryForm, StatisticsFilterForm, WatchlistEntryForm, category_initial
from .reference import selectors as reference_selectors
from .reference import services as reference_services
from .reference.models import VisaCategory, WatchlistEntry
from .register.statistics import (
    CAPTIONS,
    GROUPS,
    StatisticsFilters,
    statistics_csv,
    statistics_read,
)


def _held(request: HttpRequest, action: Action) -> frozenset[Action]:
    return staff_access(
        user=request.user,
        mission=request.tenant,  # type: ignore[attr-defined]
        action=action,
    )


def _today(request: HttpRequest) -> str:
    return f"{timezone.localdate(timezone=request.tenant.zone):%Y-%m-%d}"  # type: ignore[attr-defined]


# A page under filters it cannot honour: 400, the reasons named in the page's error summary
# (each field's label, a link to it) and beside each field, not as a message above the page,
# which repeated one reason without saying whose it was.
REFUSED = 400


@query_string_cleaned_by(StatisticsFilterForm)
@login_required
def hq_statistics(request: HttpRequest) -> HttpResponse:
    """The figures under the query string's filters; a filter the page cannot honour (a
    control character in one too) is refused with 400, every reason beside its field and in
    the error summary, and no figures."""
    held = _held(request, Action.VISA_STATISTICS_VIEW)
    form = StatisticsFilterForm(request.GET)
    figures = form_read(
        form, lambda: statistics_read(filters=form.filters(), acting_user=request.user)
    )
    status = 200 if figures is not None else REFUSED
    filters = figures.filters if figures is not None else StatisticsFilters()
    return render(
        request,
        "visas/hq/statistics.html",
        {
            "form": form,
            "figures": figures,
            "group_label": GROUPS[filters.group],
            "caption": CAPTIONS[filters.group],
            "query": filters.query(),
            "sees_reference": Action.VISA_VIEW in held,
        },
        status=status,
    )


@query_string_cleaned_by(StatisticsFilterForm)
@login_required
def hq_statistics_csv(request: HttpRequest) -> HttpResponse:
    """The page's table as CSV; a refused filter is a 400 in plain text in the reader's
    language (a line per reason: the field and why, in the form's order), never a file of
    every figure."""
    _held(request, Action.VISA_STATISTICS_VIEW)
    form = StatisticsFilterForm(request.GET)
    content = form_read(
        form, lambda: statistics_csv(filters=form.filters(), acting_user=request.user)
    )
    if content is None:
        return form_refused_in_text(form)
    return csv_response(f"visas-{form.filters().group}-{_today(request)}.csv", content)


def _watchlist_page(
    request: HttpRequest, *, form: WatchlistEntryForm | None = None, status: int = 200
) -> HttpResponse:
    held = _held(request, Action.VISA_VIEW)
    include_past = request.GET.get("all") == "1"
    return render(
        request,
        "visas/hq/watchlist.html",
        {
            "entries": list(reference_selectors.watchlist_list(include_past=include_past)),
            "include_past": include_past,
            "today": timezone.localdate(),
            "form": form or WatchlistEntryForm(),
            "may_manage": Action.VISA_REFERENCE_MANAGE in held,
        },
        status=status,
    )


@login_required
def hq_watchlist(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _watchlist_page(request)
    _held(request, Action.VISA_VIEW)
    form = WatchlistEntryForm(request.POST)
    if not form.is_valid():  # each reason beside its field and in the page's error summary
        return _watchlist_page(request, form=form, status=400)
    try:
        reference_services.watchlist_entry_add(acting_user=request.user, **form.cleaned_data)
    except ApplicationError as error:
        return _watchlist_page(request, form=form, status=refusal_shown(request, form, error))
    messages.success(request, _("Entry added. The missions screen against it once they sync."))
    return redirect("visas_hq:watchlist")


@login_required
@require_POST
def hq_watchlist_end(request: HttpRequest, pk: int) -> HttpResponse:
    _held(request, Action.VISA_VIEW)
    entry = WatchlistEntry.objects.filter(pk=pk).first()
    if entry is None:
        raise Http404
    try:
        reference_services.watchlist_entry_end(entry=entry, acting_user=request.user)
    except ApplicationError as error:
        return _watchlist_page(request, status=error_shown(request, error))
    messages.success(request, _("Entry ended. It is no longer screened against."))
    return redirect("visas_hq:watchlist")


def _categories_page(request: HttpRequest, *, status: int = 200) -> HttpResponse:
    held = _held(request, Action.VISA_VIEW)
    return render(
        request,
        "visas/hq/categories.html",
        {
            "categories": list(reference_selectors.category_list()),
            "may_manage": Action.VISA_REFERENCE_MANAGE in held,
        },
        status=status,
    )


@login_required
def hq_categories(request: HttpRequest) -> HttpResponse:
    return _categories_page(request)


@login_required
@require_POST
def hq_category_active(request: HttpRequest, pk: int) -> HttpResponse:
    _held(request, Action.VISA_VIEW)
    category = VisaCategory.objects.filter(pk=pk).first()
    if category is None:
        raise Http404
    active = request.POST.get("active") == "1"
    try:
        reference_services.category_active_set(
            category=category, active=active, acting_user=request.user
        )
    except ApplicationError as error:
        return _categories_page(request, status=error_shown(request, error))
    if active:
        messages.success(request, _("The category is offered again."))
    else:
        messages.success(request, _("The category is retired: it is no longer offered."))
    return redirect("visas_hq:categories")


def _category_form_page(
    request: HttpRequest,
    *,
    form: CategoryForm,
    category: VisaCategory | None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "visas/hq/category_form.html",
        {"form": form, "category": category},
        status=status,
    )


def _category_save(
    request: HttpRequest, form: CategoryForm, category: VisaCategory | None
) -> HttpResponse:
    if not form.is_valid():  # each reason beside its field and in the page's error summary
        return _category_form_page(request, form=form, category=category, status=400)
    try:
        saved, created = reference_services.category_save(
            category=form.category_input(), acting_user=request.user
        )
    except ApplicationError as error:
        return _category_form_page(
            request, form=form, category=category, status=refusal_shown(request, form, error)
        )
    if created:
        messages.success(request, _("Category added. The missions offer it once they sync."))
    else:
        messages.success(request, _("Category saved. The missions get it when they sync."))
    return redirect(f"{reverse('visas_hq:categories')}#category-{saved.pk}")


@login_required
def hq_category_new(request: HttpRequest) -> HttpResponse:
    held = _held(request, Action.VISA_VIEW)
    if Action.VISA_REFERENCE_MANAGE not in held:
        raise Http404
    if request.method != "POST":
        form = CategoryForm(
            initial={"items": "photo|photo|required|Passport photo|Vesikalık fotoğraf"}
        )
        return _category_form_page(request, form=form, category=None)
    return _category_save(request, CategoryForm(request.POST), None)


@login_required
def hq_category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    held = _held(request, Action.VISA_VIEW)
    if Action.VISA_REFERENCE_MANAGE not in held:
        raise Http404
    category = VisaCategory.objects.filter(pk=pk).first()
    if category is None:
        raise Http404
    initial = category_initial(category)
    if request.method != "POST":
        form = CategoryForm(initial=initial, editing=True)
        return _category_form_page(request, form=form, category=category)
    return _category_save(
        request, CategoryForm(request.POST, initial=initial, editing=True), category
    )
