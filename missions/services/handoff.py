"""Moving a logged-in staff member to another mission's host without a second login.

Session cookies stay host-only (a cookie shared by every subdomain would let any one mission's
host, or a bug in one, act for the person at all the others). Instead the host they are on
makes a hand-off (a POST: `handoff_create`) and sends the browser to
`<mission host>/accounts/handoff/<token>/`, where `handoff_redeem` lets it through once, within
`HANDOFF_SECONDS`, for a person who holds a role at that mission (or an HQ role) and whose
session there passed the second factor. The new session carries over that second factor and
nothing else. docs/security.md, "Moving between hosts", says why each rule is there.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from allauth.mfa.models import Authenticator
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.accounts.models import User
from consulate.kernel.errors import ApplicationError, CommonError

from ..error_codes import MissionError
from ..models import Handoff, Mission
from ..permissions import roles_held

# Long enough for a redirect on a slow line, short enough that a link seen in a log, a history
# or over a shoulder is useless by then (it is single-use anyway).
HANDOFF_SECONDS = 60
# How long redeemed and expired hand-offs are kept, as the record of who moved where.
HANDOFF_KEPT = dt.timedelta(days=90)
_SALT = "missions.handoff"


def _invalid() -> ApplicationError:
    return ApplicationError(
        MissionError.HANDOFF_INVALID,
        _(
            "This link has expired or has been used already. Sign in here, or go back and "
            "follow it again."
        ),
    )


def _not_found() -> ApplicationError:
    return ApplicationError(CommonError.NOT_FOUND, _("Not found."))


def second_factor_passed(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The second factor a session passed, from its allauth authentication records
    (`allauth.account.authentication.get_authentication_records`): `{"type", "id"}`, or None."""
    for record in reversed(records):
        if record.get("method") == "mfa" and record.get("type"):
            return {"type": record["type"], "id": record.get("id")}
    return None


def handoff_create(
    *, user: User, mission: Mission, second_factor: dict[str, Any] | None, origin: str
) -> str:
    """A signed, single-use token that logs `user` in at `mission`'s host, returned to put in
    the link. Not found (404) unless `user` holds a role at `mission` or an HQ role; refused
    unless the session at `origin` passed a second factor (`second_factor_passed`)."""
    if mission.is_hq or not roles_held(user=user, mission=mission):
        raise _not_found()
    if second_factor is None:
        raise ApplicationError(CommonError.NOT_ALLOWED, _("Sign in with your second factor first."))
    handoff = Handoff.objects.create(
        user=user, mission=mission, origin=origin, second_factor=second_factor
    )
    return signing.dumps({"h": str(handoff.pk), "m": mission.code}, salt=_SALT)


def handoff_redeem(*, token: str, mission: Mission, signed_in: Any = None) -> Handoff:
    """Let a hand-off through at `mission`'s host, once: the token must carry a valid
    signature, be younger than `HANDOFF_SECONDS`, be meant for this mission and not have been
    redeemed (one conditional UPDATE, so two requests racing with the same token cannot both
    pass). The person must still hold a role here (else not found) and still have the second
    factor they passed. A browser logged in here as someone else (`signed_in`) is not switched
    to another account by a link."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=HANDOFF_SECONDS)
    except signing.BadSignature as error:  # tampered with, or expired (SignatureExpired)
        raise _invalid() from error
    if not isinstance(data, dict) or data.get("m") != mission.code:
        raise _invalid()
    try:
        handoff_id = str(uuid.UUID(str(data.get("h"))))
    except ValueError as error:
        raise _invalid() from error
    if signed_in is not None and signed_in.is_authenticated:
        meant_for = Handoff.objects.filter(pk=handoff_id).values_list("user", flat=True)
        if meant_for.first() not in (None, signed_in.pk):
            raise ApplicationError(
                CommonError.NOT_ALLOWED,
                _(
                    "You are signed in here as %(email)s. Sign out first, then follow the link "
                    "again."
                )
                % {"email": signed_in.email},
            )
    now = timezone.now()
    with transaction.atomic():
        redeemed = Handoff.objects.filter(
            pk=handoff_id,
            mission=mission,
            redeemed_at__isnull=True,
            created_at__gte=now - dt.timedelta(seconds=HANDOFF_SECONDS),
        ).update(redeemed_at=now, updated_at=now)
        if redeemed != 1:
            raise _invalid()
        handoff = Handoff.objects.select_related("user").get(pk=handoff_id)
    user = handoff.user
    if not user.is_active or not roles_held(user=user, mission=mission):
        raise _not_found()
    factor = handoff.second_factor
    if not Authenticator.objects.filter(
        user=user, pk=factor.get("id"), type=factor["type"]
    ).exists():
        raise _invalid()  # removed since: the person logs in with what they have now
    return handoff


def handoff_prune(*, now: dt.datetime | None = None) -> int:
    """Delete hand-offs older than `HANDOFF_KEPT` (beat, with the expired sessions)."""
    cutoff = (now or timezone.now()) - HANDOFF_KEPT
    deleted, _by_model = Handoff.objects.filter(created_at__lt=cutoff).delete()
    return deleted
