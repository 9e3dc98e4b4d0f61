"""HQ's visa reference data, in the public schema and, as each mission's own copy, in every
mission schema (sync's reference set "visas"; docs/visas.md).

- `VisaCategory`: what a foreigner may apply for (tourism, business, transit, study, work,
  family visit, and what HQ adds), for every mission or, as a per-mission addition, for one.
  Each has its checklist (`ChecklistItem`) and its questions (`CategoryQuestion`).
- `WatchlistEntry`: a person the missions screen visa applicants against, with the spellings
  of their name (one per line), date of birth and nationality when known, why, and until when.

HQ changes them through `visas.reference.services` only (each change publishes a new reference
version when its transaction commits); a mission never writes its copy.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel

CODE_REGEX = r"^[a-z][a-z0-9_]{0,29}$"
MISSION_CODE_LENGTH = 30


class VisaType(models.TextChoices):
    # Schengen-style: C is a short stay (at most 90 days in 180), D a long stay (national).
    SHORT_STAY = "C", _("Short-stay visa (C)")
    LONG_STAY = "D", _("Long-stay visa (D)")
    AIRPORT_TRANSIT = "A", _("Airport transit visa (A)")


class VisaCategory(TimeStampedModel):  # type: ignore[django-manager-missing]
    """One category an applicant picks. `mission` empty: offered by every mission; a mission's
    code: a per-mission addition, offered there only."""

    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    mission = models.CharField(
        _("mission"),
        max_length=MISSION_CODE_LENGTH,
        blank=True,
        help_text=_("Empty: every mission offers it."),
    )
    visa_type = models.CharField(
        _("visa type"), max_length=1, choices=VisaType.choices, default=VisaType.SHORT_STAY
    )
    # The fee schedule's visa category (fees.reference.FeeScheduleEntry.visa_category).
    fee_code = models.CharField(_("fee code"), max_length=20)
    # The decision is due this many calendar days after the file became admissible.
    processing_days = models.PositiveSmallIntegerField(_("processing target (days)"), default=15)
    max_stay_days = models.PositiveSmallIntegerField(_("longest stay (days)"), default=90)
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    active = models.BooleanField(_("offered"), default=True)

    history = history_records()
    objects: ClassVar[models.Manager[VisaCategory]]

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("visa category")
        verbose_name_plural = _("visa categories")
        constraints = [
            models.UniqueConstraint(fields=["code", "mission"], name="visas_category_code"),
            models.CheckConstraint(
                condition=Q(code__regex=CODE_REGEX), name="visas_category_code_form"
            ),
            models.CheckConstraint(
                condition=Q(processing_days__gte=1, processing_days__lte=60)
                & Q(max_stay_days__gte=1, max_stay_days__lte=3650),
                name="visas_category_days",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.mission or '*'})"


class ItemKind(models.TextChoices):
    PHOTO = "photo", _("Photo")
    DOCUMENT = "document", _("Document")


class ChecklistItem(TimeStampedModel):
    """A document a category asks for. The photo is checked as a passport photo."""

    category = models.ForeignKey(VisaCategory, on_delete=models.PROTECT, related_name="items")
    code = models.CharField(_("code"), max_length=30)
    label = models.CharField(_("document"), max_length=150)
    help_text = models.TextField(_("what is accepted"), blank=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=ItemKind.choices, default=ItemKind.DOCUMENT
    )
    required = models.BooleanField(_("required"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=100)

    history = history_records()
    objects: ClassVar[models.Manager[ChecklistItem]]

    class Meta:
        ordering = ["category", "order", "code"]
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="visas_item_code"),
            models.CheckConstraint(condition=Q(code__regex=CODE_REGEX), name="visas_item_form"),
        ]

    def __str__(self) -> str:
        return f"{self.category_id} {self.code}"


class QuestionKind(models.TextChoices):
    TEXT = "text", _("Text")
    DATE = "date", _("Date")
    YES_NO = "yes_no", _("Yes or no")


class CategoryQuestion(TimeStampedModel):
    """A question a category asks beyond the common form (the host's relationship, the school)."""

    category = models.ForeignKey(VisaCategory, on_delete=models.PROTECT, related_name="questions")
    code = models.CharField(_("code"), max_length=30)
    label = models.CharField(_("question"), max_length=200)
    kind = models.CharField(
        _("kind"), max_length=10, choices=QuestionKind.choices, default=QuestionKind.TEXT
    )
    required = models.BooleanField(_("required"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=100)

    history = history_records()
    objects: ClassVar[models.Manager[CategoryQuestion]]

    class Meta:
        ordering = ["category", "order", "code"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="visas_question_code"),
            models.CheckConstraint(condition=Q(code__regex=CODE_REGEX), name="visas_question_form"),
        ]

    def __str__(self) -> str:
        return f"{self.category_id} {self.code}"


class WatchlistEntry(TimeStampedModel):
    """A person to look at twice. `names`: every known spelling, one per line, surname first
    ("MUELLER HANS"); `birth_date` may be only a year (recorded as 1 January, `birth_year_only`).
    An entry past `expires_on` is no longer screened against; entries are ended, never deleted."""

    names = models.TextField(_("names (one spelling per line)"))
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    birth_year_only = models.BooleanField(_("only the year is known"), default=False)
    nationality = models.CharField(_("nationality"), max_length=3, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    expires_on = models.DateField(_("until"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    history = history_records()
    objects: ClassVar[models.Manager[WatchlistEntry]]

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("watchlist entry")
        verbose_name_plural = _("watchlist entries")
        constraints = [
            models.CheckConstraint(condition=~Q(names=""), name="visas_watchlist_names"),
            models.CheckConstraint(
                condition=Q(nationality="") | Q(nationality__regex=r"^[A-Z<]{3}$"),
                name="visas_watchlist_nationality",
            ),
        ]

    def __str__(self) -> str:
        return f"watchlist entry {self.pk}"

    def spellings(self) -> list[str]:
        return [line.strip() for line in self.names.splitlines() if line.strip()]
