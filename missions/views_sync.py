"""The sync pages: HQ's view of every mission's link (HQ host) and a mission's view of its own
link with "Push now" and "Export file" (the mission's host). Thin: the reads are in
`selectors_sync.py`, the actions in `services/sync.py`; who sees what is the permission table's
answer (`staff_access`: 404 unless the person may)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from consulate.kernel.errors import ApplicationError, error_shown

from .models import Mission
from .permissions import Action, staff_access
from .selectors_sync import (
    silence_threshold_minutes,
    sync_link_status,
    sync_mission_detail_for_hq,
    sync_mission_list_for_hq,
)
from .services.sync import sync_export_filename, sync_file_export, sync_push_now


def _tenant(request: HttpRequest) -> Mission:
    return request.tenant  # type: ignore[attr-defined,no-any-return]


# --- HQ ------------------------------------------------------------------------------------------


@login_required
def hq_sync(request: HttpRequest) -> HttpResponse:
    hq = _tenant(request)
    staff_access(user=request.user, mission=hq, action=Action.SYNC_HQ_VIEW)
    rows = sync_mission_list_for_hq()
    return render(
        request,
        "missions/sync_hq.html",
        {
            "rows": rows,
            "silent": [row for row in rows if row.silent],
            "zone": hq.zone,
            "threshold": silence_threshold_minutes(),
        },
    )


@login_required
def hq_sync_mission(request: HttpRequest, code: str) -> HttpResponse:
    hq = _tenant(request)
    staff_access(user=request.user, mission=hq, action=Action.SYNC_HQ_VIEW)
    detail = sync_mission_detail_for_hq(code=code[:30])
    if detail is None:
        raise Http404
    return render(
        request,
        "missions/sync_hq_mission.html",
        {
            "detail": detail,
            "row": detail.sync,
            "zone": hq.zone,
            "threshold": silence_threshold_minutes(),
        },
    )


# --- a mission -----------------------------------------------------------------------------------


def _mission_page(request: HttpRequest, status: int = 200) -> HttpResponse:
    mission = _tenant(request)
    return render(
        request,
        "missions/sync_mission.html",
        {"link": sync_link_status(), "zone": mission.zone},
        status=status,
    )


@login_required
def mission_sync(request: HttpRequest) -> HttpResponse:
    staff_access(user=request.user, mission=_tenant(request), action=Action.SYNC_VIEW)
    return _mission_page(request)


@require_POST
@login_required
def mission_sync_push(request: HttpRequest) -> HttpResponse:
    mission = _tenant(request)
    staff_access(user=request.user, mission=mission, action=Action.SYNC_PUSH)
    try:
        link = sync_push_now(mission=mission, acting_user=request.user)  # type: ignore[arg-type]
    except ApplicationError as error:
        return _mission_page(request, status=error_shown(request, error))
    if link.last_push_failed:
        messages.error(
            request,
            _("The push did not reach HQ: %(reason)s") % {"reason": link.last_error_text},
        )
    else:
        messages.success(request, _("Pushed to HQ. The figures below are HQ's answer."))
    return redirect("sync_mission")


@require_POST
@login_required
def mission_sync_export(request: HttpRequest) -> HttpResponse:
    mission = _tenant(request)
    staff_access(user=request.user, mission=mission, action=Action.SYNC_PUSH)
    try:
        data = sync_file_export(mission=mission, acting_user=request.user)  # type: ignore[arg-type]
    except ApplicationError as error:
        return _mission_page(request, status=error_shown(request, error))
    response = HttpResponse(data, content_type="application/vnd.consulate.bundles")
    filename = sync_export_filename(mission=mission)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
