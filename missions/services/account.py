"""Accounts as HQ admins manage them (HQ's admin): create, change, set a password.

Accounts live in the public schema and belong to no mission, so these are checked against
HQ's own row. Citizens' own sign-up and profile go through allauth, not through here. The
public schema has no outbox: an account's record is its history row (who, when, what).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SystemActor
from consulate.kernel.errors import ApplicationError
from consulate.kernel.history import set_acting_user

from ..error_codes import MissionError
from ..permissions import Action, permission_require
from ..selectors import mission_hq

# What HQ's admin may change on an account; the password has its own service.
ACCOUNT_FIELDS = frozenset(
    {"email", "first_name", "last_name", "preferred_language", "hq_role", "is_active",
     "is_staff", "is_superuser"}
)  # fmt: skip


def _email_free(*, email: str, exclude_pk: int | None = None) -> None:
    taken = User.objects.filter(email__iexact=email)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ApplicationError(
            MissionError.EMAIL_TAKEN,
            _("An account with this e-mail address already exists."),
            field="email",
        )


def _validate(user: User) -> None:
    try:
        # uniqueness is checked by `_email_free` (a clear message) and the database constraint
        user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise ApplicationError.from_validation_error(MissionError.INVALID, error) from error


def account_create(
    *, email: str, password: str | None, acting_user: User | SystemActor, **fields: Any
) -> User:
    """Open an account (`fields` from ACCOUNT_FIELDS); with no password it cannot log in until
    one is set (or reset by e-mail)."""
    permission_require(user=acting_user, mission=mission_hq(), action=Action.MISSION_MANAGE)
    unknown = set(fields) - ACCOUNT_FIELDS
    if unknown:
        raise ApplicationError(
            MissionError.INVALID,
            _("These cannot be changed here: %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
        )
    user = User(email=User.objects.normalize_email(email).strip().lower(), **fields)
    user.set_password(password)
    _validate(user)
    with transaction.atomic():
        _email_free(email=user.email)
        set_acting_user(user, acting_user)
        user.save()
    return user


def account_update(*, user: User, acting_user: User | SystemActor, **changes: Any) -> User:
    """Change an account's profile, HQ role or status, with a history row by `acting_user`."""
    permission_require(user=acting_user, mission=mission_hq(), action=Action.MISSION_MANAGE)
    unknown = set(changes) - ACCOUNT_FIELDS
    if unknown:
        raise ApplicationError(
            MissionError.INVALID,
            _("These cannot be changed here: %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
        )
    if "email" in changes:
        changes["email"] = User.objects.normalize_email(changes["email"]).strip().lower()
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        changed = sorted(name for name, value in changes.items() if getattr(user, name) != value)
        if not changed:
            return user
        for name in changed:
            setattr(user, name, changes[name])
        _validate(user)
        if "email" in changed:
            _email_free(email=user.email, exclude_pk=user.pk)
        set_acting_user(user, acting_user)
        # an encrypted name is saved with its blind index (computed on save)
        indexes = [User.NAME_INDEXES[name] for name in changed if name in User.NAME_INDEXES]
        user.save(update_fields=[*changed, *indexes])
    return user


def account_password_set(
    *, user: User, password: str | None, acting_user: User | SystemActor
) -> User:
    """Set an account's password (validated by the caller's form against the password rules);
    `None` makes it unusable (no password login)."""
    permission_require(user=acting_user, mission=mission_hq(), action=Action.MISSION_MANAGE)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.set_password(password)
        set_acting_user(user, acting_user)
        user.save(update_fields=["password"])
    return user
