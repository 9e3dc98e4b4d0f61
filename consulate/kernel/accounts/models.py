"""User accounts. They live in the public schema: one account works at every mission."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from consulate.kernel.history import history_records


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

    @property
    def is_hq_staff(self) -> bool:
        return bool(self.hq_role)

    def needs_second_factor(self) -> bool:
        """Staff of any kind must log in with a second factor; citizens may choose to."""
        return self.is_hq_staff or self.is_staff or self.memberships.filter(is_active=True).exists()
