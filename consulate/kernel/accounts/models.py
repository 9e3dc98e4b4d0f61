"""User accounts. They live in the public schema: one account works at every mission.

Names are personal data: encrypted at rest under the public schema's data key (`shared=True`,
whatever mission's schema the connection is on), in the history too. An exact search by name
goes through the blind indexes: `User.objects.filter(Q(first_name_index__matches=term) |
Q(last_name_index__matches=term))` (one purpose for both, so one term finds either).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from consulate.kernel.crypto.fields import BlindIndexField, EncryptedTextField
from consulate.kernel.history import history_records

NAME_MAX_LENGTH = 150  # as Django's own first_name and last_name
NAME_INDEX_PURPOSE = "person_name"


class HqRole(models.TextChoices):
    # Reads every mission's figures and cases; changes nothing.
    ANALYST = "analyst", _("HQ analyst")
    # Manages missions and reference data in HQ's admin.
    ADMIN = "admin", _("HQ admin")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.update(is_staff=True, is_superuser=True, hq_role=HqRole.ADMIN)
        return self.create_user(email, password, **fields)


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    first_name = EncryptedTextField(  # type: ignore[assignment]
        _("first name"), blank=True, shared=True, validators=[MaxLengthValidator(NAME_MAX_LENGTH)]
    )
    last_name = EncryptedTextField(  # type: ignore[assignment]
        _("last name"), blank=True, shared=True, validators=[MaxLengthValidator(NAME_MAX_LENGTH)]
    )
    # Saving with `update_fields` that name a name must name its index too (`NAME_INDEXES`).
    first_name_index = BlindIndexField(source="first_name", purpose=NAME_INDEX_PURPOSE, shared=True)
    last_name_index = BlindIndexField(source="last_name", purpose=NAME_INDEX_PURPOSE, shared=True)
    email = models.EmailField(_("e-mail address"), unique=True)
    hq_role = models.CharField(_("HQ role"), max_length=20, choices=HqRole.choices, blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=10, default="en")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]
    history = history_records(excluded_fields=["password", "last_login"])

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    # each encrypted name and the blind index that must be saved with it
    NAME_INDEXES: ClassVar[dict[str, str]] = {
        "first_name": "first_name_index",
        "last_name": "last_name_index",
    }

    @property
    def is_hq_staff(self) -> bool:
        return bool(self.hq_role)

    def needs_second_factor(self) -> bool:
        """Staff of any kind must log in with a second factor; citizens may choose to."""
        if self.is_hq_staff or self.is_staff:
            return True
        loaded = self.__dict__.get("active_roles")  # read with the user (missions/auth.py)
        if loaded is not None:
            return bool(loaded)
        return self.memberships.filter(is_active=True).exists()  # type: ignore[attr-defined]

    def has_second_factor(self) -> bool:
        """Whether a TOTP device is set up (read with the user for a request's user)."""
        loaded = self.__dict__.get("has_totp")
        if loaded is not None:
            return bool(loaded)
        from allauth.mfa.models import Authenticator

        return Authenticator.objects.filter(user=self, type=Authenticator.Type.TOTP).exists()
