"""How a push reaches HQ: in this process when HQ is in this database, else HTTPS.

`settings.SYNC_HQ_URL` empty: HQ's tables are in this database's public schema (one server
for HQ and its missions, development, tests); the push is answered by calling HQ's function
on the public schema. Set (a mission on its own node): an HTTPS POST to
`{SYNC_HQ_URL}/sync/v1/push` with `urllib.request` and `SYNC_PUSH_TIMEOUT` seconds. Either
way the caller gets HQ's answer as bytes, or an ApplicationError: `UNREACHABLE` when HQ did not
answer (the push is retried with backoff), `FILE_INVALID` when HQ refused the request.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import ApplicationError

from .down import DOWN_HASHES_HEADER
from .error_codes import SyncError

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/vnd.consulate.bundles"
REFERENCE_VERSION_HEADER = "X-Consulate-Reference-Version"


def over_http() -> bool:
    """True at a mission node (HQ elsewhere), False when HQ is in this database."""
    return bool(getattr(settings, "SYNC_HQ_URL", ""))


def exchange(
    body: bytes, *, reference_version: int, down_hashes: dict[str, str] | None = None
) -> bytes:
    """Send a file of frames to HQ; return HQ's answer (a file of frames). `down_hashes` (a
    node's copies of its down sets, `sync.down`) go with a push over HTTPS only."""
    url = str(getattr(settings, "SYNC_HQ_URL", "") or "")
    if not url:
        return _in_process(body, reference_version=reference_version)
    return _over_http(url, body, reference_version=reference_version, down_hashes=down_hashes)


def _in_process(body: bytes, *, reference_version: int) -> bytes:
    """HQ in this database: its function on the public schema, then back to the caller's
    schema. HQ opens its own transactions; nothing here wraps them in one of ours, and a push
    is called outside any transaction (a task, a command)."""
    from django_tenants.utils import schema_context

    from .hq.answer import push_answer

    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        return push_answer(body, reference_version=reference_version, source="push")


def _over_http(
    url: str, body: bytes, *, reference_version: int, down_hashes: dict[str, str] | None
) -> bytes:
    request = urllib.request.Request(  # noqa: S310 (the URL is the operator's setting)
        url.rstrip("/") + "/sync/v1/push",
        data=body,
        method="POST",
        headers={
            "Content-Type": CONTENT_TYPE,
            REFERENCE_VERSION_HEADER: str(reference_version),
            **({DOWN_HASHES_HEADER: json.dumps(down_hashes)} if down_hashes is not None else {}),
        },
    )
    timeout = float(getattr(settings, "SYNC_PUSH_TIMEOUT", 60))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return bytes(response.read())
    except urllib.error.HTTPError as error:
        detail = _http_error_detail(error)
        if error.code >= 500:
            raise ApplicationError(
                SyncError.UNREACHABLE,
                _("HQ could not answer (HTTP %(status)s).") % {"status": error.code},
                details={"status": error.code, "detail": detail},
            ) from error
        raise ApplicationError(
            SyncError.FILE_INVALID,
            _("HQ refused the push (HTTP %(status)s): %(detail)s")
            % {"status": error.code, "detail": detail},
            details={"status": error.code, "detail": detail},
        ) from error
    except (OSError, ValueError) as error:  # URLError, timeouts, refused connections, bad URL
        logger.info("sync push to %s failed: %s", url, error)
        raise ApplicationError(
            SyncError.UNREACHABLE,
            _("HQ cannot be reached: %(reason)s") % {"reason": getattr(error, "reason", error)},
        ) from error


def _http_error_detail(error: urllib.error.HTTPError) -> str:
    try:
        raw = error.read(4096)
        value = json.loads(raw)
        return str(value.get("message", ""))[:300] if isinstance(value, dict) else ""
    except (OSError, ValueError):
        return ""
