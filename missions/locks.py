"""Row locks of the missions app (`<entity>_lock(*, pk)`), taken inside the caller's
transaction. Order, when several are held: mission, then membership."""

from __future__ import annotations

from .models import Membership, Mission


def mission_lock(*, pk: int) -> Mission:
    return Mission.objects.select_for_update().get(pk=pk)


def membership_lock(*, pk: int) -> Membership:
    return Membership.objects.select_for_update().get(pk=pk)
