"""HQ's sync endpoint: `POST /sync/v1/push` on the portal host (docs/sync.md).

Authenticated by the bundles' signatures, not by a session: no login, no CSRF token. The body
is a file of frames (`sync.bundle.file_pack`); the answer is HQ's signed answer
(`sync.hq.answer`). Bad input is a 4xx with `{"code", "message"}`, never a 500: a body over
`SYNC_PUSH_MAX_BYTES` is 413 before it is read; a body in which nothing can be read is 400.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from consulate.kernel.errors import ApplicationError

from ..down import DOWN_HASHES_HEADER, down_hashes_parse
from ..error_codes import SyncError
from .answer import push_answer

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/vnd.consulate.bundles"
REFERENCE_VERSION_HEADER = "X-Consulate-Reference-Version"


def _refusal(code: SyncError, message: str, status: int) -> JsonResponse:
    return JsonResponse({"code": code.value, "message": message}, status=status)


def _too_large(limit: int) -> JsonResponse:
    return _refusal(
        SyncError.FILE_INVALID,
        _("The request is larger than %(limit)s bytes; send fewer bundles at once.")
        % {"limit": limit},
        413,
    )


@csrf_exempt
@require_POST
def push(request: HttpRequest) -> HttpResponse:
    limit = int(settings.SYNC_PUSH_MAX_BYTES)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _refusal(SyncError.FILE_INVALID, _("The request's length cannot be read."), 400)
    if declared > limit:
        return _too_large(limit)
    # read the stream ourselves: request.body would stop at DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)
    body = request.read(limit + 1)
    if len(body) > limit:
        return _too_large(limit)
    if not body:
        return _refusal(SyncError.FILE_INVALID, _("The request has no body."), 400)
    try:
        reference_version = int(request.headers.get(REFERENCE_VERSION_HEADER) or 0)
    except ValueError:
        reference_version = -1
    if not 0 <= reference_version < 2**31:
        return _refusal(
            SyncError.FILE_INVALID, _("The reference version header is not a number."), 400
        )
    try:
        answer = push_answer(
            body,
            reference_version=reference_version,
            source="http",
            down_hashes=down_hashes_parse(request.headers.get(DOWN_HASHES_HEADER, "")),
        )
    except ApplicationError as error:
        return JsonResponse(error.as_dict(), status=error.http_status)
    return HttpResponse(answer, content_type=CONTENT_TYPE)
