"""Staff actions on a mission's link to HQ, and HQ's alert about silent missions.

The transport itself is `sync.export` (push a round trip, build a file for the diplomatic bag);
these services put the permission table in front of it. `sync.export` is imported inside each
function: the pages and the permission walk do not depend on the transport being importable at
start-up, and tests replace `sync.export.push` / `file_export`.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import HqRole, User
from consulate.kernel.actors import SystemActor
from sync.hq.models import MissionLink

from ..models import Mission
from ..permissions import Action, permission_require
from ..selectors import mission_hq
from ..selectors_sync import (
    LinkStatus,
    MissionSync,
    silence_threshold_minutes,
    sync_link_status,
    sync_missions_silent,
)

logger = logging.getLogger(__name__)


def _export() -> Any:
    """`sync.export`, the transport, loaded when first used."""
    return importlib.import_module("sync.export")


def sync_push_now(*, mission: Mission, acting_user: User | SystemActor) -> LinkStatus:
    """Push this mission's pending bundles to HQ now, outside the beat's schedule, and return
    the link as it stands after HQ's answer (or after the failure, with its error).

    Runs in the mission's schema; the transport calls HQ outside any transaction of ours, so
    this service opens none. A failure that the transport reports as an `ApplicationError`
    (HQ unreachable, sync not set up) reaches the caller."""
    permission_require(user=acting_user, mission=mission, action=Action.SYNC_PUSH)
    with schema_context(mission.schema_name):
        _export().push(code=mission.code)
        return sync_link_status()


def sync_file_export(*, mission: Mission, acting_user: User | SystemActor) -> bytes:
    """A file of this mission's unacknowledged bundles, sealed for HQ (X25519 + AES-256-GCM),
    to be carried by hand when the link is down. Nothing changes here until HQ's answer file
    is imported."""
    permission_require(user=acting_user, mission=mission, action=Action.SYNC_PUSH)
    with schema_context(mission.schema_name):
        return bytes(_export().file_export(code=mission.code, sealed=True))


def sync_export_filename(*, mission: Mission) -> str:
    """`sync-<mission>-<date>.csb`, the date being the mission's own (its business day)."""
    return f"sync-{mission.code}-{mission.today().isoformat()}.csb"


def _silence_is_new(link: MissionLink) -> bool:
    """Not yet alerted for this silence: never alerted, or alerted before the last contact
    (that silence ended; this is a new one)."""
    if link.silent_alerted_at is None:
        return True
    return link.last_contact_at is not None and link.silent_alerted_at < link.last_contact_at


def sync_silence_alert(*, now: dt.datetime | None = None) -> list[str]:
    """At HQ (public schema): e-mail HQ admins once per silence about each mission silent longer
    than `SYNC_SILENCE_ALERT_MINUTES`; return the codes alerted about.

    The platform's own work (beat, `missions.tasks.sync_silence_alert`). Each mission's
    `MissionLink` row is locked while `silent_alerted_at` is read and set, so two runs at once
    send one e-mail; the mail goes after the commit. A mission that never made contact gets its
    row here (the applying side creates it on first contact otherwise)."""
    now = now or timezone.now()
    silent = sync_missions_silent(now=now)
    if not silent:
        return []
    alerted: list[MissionSync] = []
    with transaction.atomic():
        for row in silent:
            MissionLink.objects.get_or_create(mission=row.mission.code)
        links = {
            link.mission: link
            for link in MissionLink.objects.select_for_update()
            .filter(mission__in=[row.mission.code for row in silent])
            .order_by("pk")
        }
        for row in silent:
            link = links[row.mission.code]
            if not _silence_is_new(link):
                continue
            link.silent_alerted_at = now
            link.save(update_fields=["silent_alerted_at"])
            alerted.append(row)
        if alerted:
            transaction.on_commit(lambda: _silence_mail_send(alerted))
    return [row.mission.code for row in alerted]


def _silence_mail_send(rows: list[MissionSync]) -> None:
    """One e-mail per HQ admin, in their language, times in HQ's zone with the zone named."""
    zone = mission_hq().zone
    admins = User.objects.filter(hq_role=HqRole.ADMIN, is_active=True).order_by("pk")
    for admin in admins:
        language = admin.preferred_language or settings.LANGUAGE_CODE
        with translation.override(language), timezone.override(zone):
            context: dict[str, Any] = {
                "rows": rows,
                "zone": zone.key,
                "threshold": silence_threshold_minutes(),
            }
            subject = render_to_string("missions/email/sync_silent_subject.txt", context)
            body = render_to_string("missions/email/sync_silent.txt", context)
        try:
            EmailMessage(subject=" ".join(subject.split()), body=body, to=[admin.email]).send()
        except Exception:  # one unreachable mailbox must not stop the others
            logger.exception("sync silence alert to %s failed", admin.pk)
