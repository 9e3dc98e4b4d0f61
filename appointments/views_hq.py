"""HQ's public wait-times page and feed (`urls_hq.py`, on the HQ host only; docs/monitoring.md,
"Appointments"). Anonymous, and nothing on them names a person."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from consulate.kernel.http import SearchForm, query_string_cleaned_by

from .register import wait_times


class WaitTimesSearchForm(SearchForm):
    # a control character, or a text longer than this, is refused (400) beside the box
    q = forms.CharField(
        label=_("Country or city"),
        max_length=wait_times.QUERY_MAX_LENGTH,
        required=False,
    )


@query_string_cleaned_by(WaitTimesSearchForm)
@require_safe
def wait_times_page(request: HttpRequest) -> HttpResponse:
    form = WaitTimesSearchForm(request.GET or None)
    data = wait_times.wait_times_get()
    # when the figures were built, in HQ's zone as every HQ page (its row's: the tenant on HQ's
    # host); each mission's times stay in the mission's own zone
    zone = request.tenant.zone  # type: ignore[attr-defined]
    form.fields["q"].help_text = wait_times.wait_times_search_example(data)
    if form.is_bound and not form.is_valid():
        return render(
            request,
            "appointments/wait_times.html",
            {"form": form, "missions": [], "data": data, "query": "", "zone": zone},
            status=400,
        )
    query = form.cleaned_data.get("q", "") if form.is_bound else ""
    return render(
        request,
        "appointments/wait_times.html",
        {
            "form": form,
            "missions": wait_times.wait_times_search(data, query),
            "data": data,
            "query": query,
            "zone": zone,
        },
    )


@require_safe
def wait_times_json(request: HttpRequest) -> HttpResponse:
    form = WaitTimesSearchForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    query = form.cleaned_data.get("q", "") if form.is_bound else ""
    data = wait_times.wait_times_get()
    response = JsonResponse(
        {
            "generated_at": data["generated_at"],
            "missions": [
                wait_times.wait_times_public(m) for m in wait_times.wait_times_search(data, query)
            ],
        },
        json_dumps_params={"ensure_ascii": False},
    )
    # the same for everyone in a language: a shared cache may keep it as long as HQ does
    patch_cache_control(response, public=True, max_age=wait_times.CACHE_SECONDS)
    patch_vary_headers(response, ["Accept-Language", "Cookie"])
    return response
