"""The sync pages: HQ's view of every mission's link (HQ host), with "Import a mission's file"
and HQ's answer file on a mission's page, and a mission's view of its own link with "Push now",
"Export file" and "Import HQ's answer file" (the mission's host). Thin: the reads are in
`selectors_sync.py`, the actions in `services/sync.py`; who sees what is the permission table's
answer (`staff_access`: 404 unless the person may)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from consulate.kernel.errors import ApplicationError, error_shown, form_error_shown
from sync.reference import reference_age_context

from .forms import SyncFileForm
from .models import Mission
from .permissions import Action, staff_access
from .selectors_sync import (
    sync_link_status,
    sync_mission_detail_for_hq,
    sync_mission_list_for_hq,
    sync_refused_unknown_sender,
    sync_silence_threshold_shared,
)
from .services.sync import (
    FileImported,
    sync_answer_filename,
    sync_export_filename,
    sync_file_export,
    sync_file_import,
    sync_hq_answer_export,
    sync_hq_file_import,
    sync_push_now,
)
from .templatetags.missions_sync import number


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
            "unknown_sender": sync_refused_unknown_sender(),
            "zone": hq.zone,
            # one threshold said once, or each mission's in its row
            "threshold": sync_silence_threshold_shared(rows),
        },
    )


def _hq_mission_page(
    request: HttpRequest,
    code: str,
    *,
    imported: FileImported | None = None,
    status: int = 200,
) -> HttpResponse:
    hq = _tenant(request)
    held = staff_access(user=request.user, mission=hq, action=Action.SYNC_HQ_VIEW)
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
            # the table's answer at HQ; the services ask it again at the mission
            "may_import": Action.MISSION_MANAGE in held,
            "imported": imported,
        },
        status=status,
    )


def _hq_mission_of(request: HttpRequest, code: str) -> Mission:
    """The open mission whose HQ page this is, for an HQ admin; 404 for anyone else."""
    hq = _tenant(request)
    held = staff_access(user=request.user, mission=hq, action=Action.SYNC_HQ_VIEW)
    detail = sync_mission_detail_for_hq(code=code[:30])
    if detail is None or Action.MISSION_MANAGE not in held:
        raise Http404
    return detail.sync.mission


@login_required
def hq_sync_mission(request: HttpRequest, code: str) -> HttpResponse:
    return _hq_mission_page(request, code)


@require_POST
@login_required
def hq_sync_mission_import(request: HttpRequest, code: str) -> HttpResponse:
    mission = _hq_mission_of(request, code)
    form = SyncFileForm(request.POST, request.FILES)
    if not form.is_valid():
        return _hq_mission_page(request, code, status=form_error_shown(request, form))
    try:
        imported = sync_hq_file_import(
            mission=mission,
            acting_user=request.user,  # type: ignore[arg-type]
            data=form.cleaned_data["file"],
        )
    except ApplicationError as error:
        return _hq_mission_page(request, code, status=error_shown(request, error))
    if imported.refused_count:
        messages.error(
            request,
            _("%(refused)s of %(total)s bundles were refused; the reasons are below.")
            % {"refused": number(imported.refused_count), "total": number(len(imported.bundles))},
        )
    else:
        messages.success(
            request,
            _("The file was imported. HQ has applied every event of this mission up to %(seq)s.")
            % {"seq": number(imported.last_seq)},
        )
    # the results are shown here, not after a redirect: they are this file's and nothing keeps
    # them; a refused bundle makes it a 400, as `sync_import` exits with an error
    return _hq_mission_page(
        request, code, imported=imported, status=400 if imported.refused_count else 200
    )


@require_POST
@login_required
def hq_sync_mission_answer(request: HttpRequest, code: str) -> HttpResponse:
    mission = _hq_mission_of(request, code)
    try:
        data = sync_hq_answer_export(
            mission=mission,
            acting_user=request.user,  # type: ignore[arg-type]
            answer_token=request.POST.get("answer_token", "")[:1_000_000],
        )
    except ApplicationError as error:
        return _hq_mission_page(request, code, status=error_shown(request, error))
    return _download(data, sync_answer_filename(mission=mission))


# --- a mission -----------------------------------------------------------------------------------


def _mission_page(request: HttpRequest, status: int = 200) -> HttpResponse:
    mission = _tenant(request)
    return render(
        request,
        "missions/sync_mission.html",
        {"link": sync_link_status(), "zone": mission.zone, **reference_age_context()},
        status=status,
    )


def _download(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/vnd.consulate.bundles")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


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
    return _download(data, sync_export_filename(mission=mission))


@require_POST
@login_required
def mission_sync_import(request: HttpRequest) -> HttpResponse:
    mission = _tenant(request)
    staff_access(user=request.user, mission=mission, action=Action.SYNC_PUSH)
    form = SyncFileForm(request.POST, request.FILES)
    if not form.is_valid():
        return _mission_page(request, status=form_error_shown(request, form))
    try:
        imported = sync_file_import(
            mission=mission,
            acting_user=request.user,  # type: ignore[arg-type]
            data=form.cleaned_data["file"],
        )
    except ApplicationError as error:
        return _mission_page(request, status=error_shown(request, error))
    messages.success(
        request,
        _("HQ's answer was imported: HQ has applied every event up to %(seq)s.")
        % {"seq": number(imported.acked_seq)},
    )
    if imported.reference_applied:
        messages.success(
            request,
            _("Reference data version %(version)s from HQ was applied.")
            % {"version": number(imported.reference_version)},
        )
    else:
        messages.info(request, _("The answer brought no newer reference data."))
    if imported.want:
        messages.info(
            request,
            _("HQ asks again for events %(ranges)s; they go with the next push or file.")
            % {"ranges": ", ".join(f"{number(r.first)}–{number(r.last)}" for r in imported.want)},
        )
    for reason in imported.refused:
        messages.error(request, _("HQ refused a bundle: %(reason)s") % {"reason": reason})
    return redirect("sync_mission")
