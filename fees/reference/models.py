"""HQ's fee reference data, in the public schema: the fee schedule, exemption categories,
consular exchange rates and per-currency rounding rules.

Mission schemas read these tables directly (their search_path includes public) until sync
sends reference data down. Schedule entries and rates are versioned: a change is a new row
with a later validity, never an edit of an amount (database triggers refuse that).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel


class ServiceCode(models.TextChoices):
    PASSPORT_APPLICATION = "passport_application", _("Passport application")
    PASSPORT_COLLECTION = "passport_collection", _("Passport collection")
    ID_CARD = "id_card", _("Identity card")
    VISA = "visa", _("Visa")
    NOTARIAL_ACT = "notarial_act", _("Notarial act")
    EMERGENCY_TRAVEL_DOCUMENT = "emergency_travel_document", _("Emergency travel document")
    # Options added to a service's fee.
    EXPRESS = "express", _("Express handling")
    COURIER = "courier", _("Courier delivery")


OPTION_CODES = frozenset({ServiceCode.EXPRESS, ServiceCode.COURIER})


class FeeScheduleEntry(TimeStampedModel):
    """One fee, in HQ's base currency, valid from a date (and until the next version)."""

    service = models.CharField(_("service"), max_length=40, choices=ServiceCode.choices)
    visa_category = models.CharField(
        _("visa category"), max_length=20, blank=True, help_text=_("Empty: every category.")
    )
    nationality = models.CharField(
        _("applicant nationality"),
        max_length=2,
        blank=True,
        help_text=_("ISO 3166 code where reciprocity sets another fee; empty: everyone."),
    )
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)

    history = history_records()

    objects: ClassVar[models.Manager[FeeScheduleEntry]]

    class Meta:
        ordering = ["service", "visa_category", "nationality", "-valid_from"]
        verbose_name = _("fee schedule entry")
        verbose_name_plural = _("fee schedule")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_minor__gte=0), name="fees_ref_fee_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True)
                | models.Q(valid_to__gt=models.F("valid_from")),
                name="fees_ref_fee_valid_range",
            ),
            models.UniqueConstraint(
                fields=["service", "visa_category", "nationality", "version"],
                name="fees_ref_fee_unique_version",
            ),
            models.UniqueConstraint(
                fields=["service", "visa_category", "nationality", "valid_from"],
                name="fees_ref_fee_unique_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_service_display()} v{self.version}"


class ExemptionRule(models.TextChoices):
    # Applicants younger than `age_under` years.
    CHILD_UNDER_AGE = "child_under_age", _("Child under an age")
    # Holders of diplomatic or official passports on official business.
    DIPLOMATIC_OFFICIAL = "diplomatic_official", _("Diplomatic and official")
    # Decided case by case on humanitarian grounds.
    HUMANITARIAN = "humanitarian", _("Humanitarian")
    # Nationals of a country that waives the same fee for ours.
    RECIPROCITY = "reciprocity", _("Reciprocity")


class ExemptionCategory(TimeStampedModel):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    # a value per language (translation.py): `name` reads the active one, English the fallback
    name = models.CharField(_("name"), max_length=200)
    name_en: str | None
    name_tr: str | None
    rule = models.CharField(_("rule"), max_length=30, choices=ExemptionRule.choices)
    age_under = models.PositiveSmallIntegerField(_("younger than (years)"), null=True, blank=True)
    nationalities = models.CharField(
        _("nationalities"),
        max_length=500,
        blank=True,
        help_text=_("Space-separated ISO 3166 codes for reciprocity."),
    )
    percent_waived = models.PositiveSmallIntegerField(_("percent waived"), default=100)
    is_active = models.BooleanField(_("active"), default=True)

    history = history_records()

    objects: ClassVar[models.Manager[ExemptionCategory]]

    class Meta:
        ordering = ["code"]
        verbose_name = _("exemption category")
        verbose_name_plural = _("exemption categories")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(percent_waived__gte=1, percent_waived__lte=100),
                name="fees_ref_exemption_percent",
            ),
            models.CheckConstraint(
                condition=~models.Q(rule="child_under_age") | models.Q(age_under__isnull=False),
                name="fees_ref_exemption_age_needed",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ExchangeRate(TimeStampedModel):
    """Units of `currency` for one unit of the base currency, from `effective_date` on."""

    currency = models.CharField(_("currency"), max_length=3)
    base_currency = models.CharField(_("base currency"), max_length=3)
    rate = models.DecimalField(_("rate"), max_digits=24, decimal_places=10)
    effective_date = models.DateField(_("effective date"))
    source = models.CharField(_("source"), max_length=100, blank=True)

    history = history_records()

    objects: ClassVar[models.Manager[ExchangeRate]]

    class Meta:
        ordering = ["currency", "-effective_date"]
        verbose_name = _("consular exchange rate")
        constraints = [
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="fees_ref_rate_positive"),
            models.UniqueConstraint(
                fields=["currency", "base_currency", "effective_date"],
                name="fees_ref_rate_one_per_day",
            ),
        ]

    def __str__(self) -> str:
        return f"1 {self.base_currency} = {self.rate} {self.currency} ({self.effective_date})"


class RoundingMode(models.TextChoices):
    UP = "up", _("Up")
    DOWN = "down", _("Down")
    HALF_UP = "half_up", _("To the nearest (half up)")


class RoundingRule(TimeStampedModel):
    """How a converted fee becomes payable in a currency: to a multiple of `increment_minor`."""

    currency = models.CharField(_("currency"), max_length=3, unique=True)
    increment_minor = models.PositiveIntegerField(
        _("increment (minor units)"),
        help_text=_("1000 for whole Kuwaiti dinars, 500 for 5 euros, 10 for 10 yen."),
    )
    mode = models.CharField(_("mode"), max_length=10, choices=RoundingMode.choices)

    history = history_records()

    objects: ClassVar[models.Manager[RoundingRule]]

    class Meta:
        ordering = ["currency"]
        verbose_name = _("rounding rule")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(increment_minor__gte=1), name="fees_ref_rounding_increment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency}: {self.increment_minor} ({self.mode})"


def base_currency() -> str:
    return str(settings.CONSULATE_BASE_CURRENCY)
