"""Missions (the tenants: one PostgreSQL schema each), their host names and their staff.

These tables live in the public schema (HQ). HQ itself is the one row whose schema is `public`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
import zoneinfo
from typing import ClassVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

from consulate.kernel import reference
from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel
from consulate.kernel.workflows import Workflow

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,29}$")
# Codes that would clash with a schema or a host name the platform uses itself.
RESERVED_CODES = frozenset({"public", "hq", "www", "api", "admin", "static", "mail", "template"})


class MissionKind(models.TextChoices):
    HEADQUARTERS = "hq", _("Headquarters")
    EMBASSY = "embassy", _("Embassy")
    CONSULATE_GENERAL = "consulate_general", _("Consulate-general")
    CONSULATE = "consulate", _("Consulate")
    HONORARY_CONSULATE = "honorary_consulate", _("Honorary consulate")


class MissionStatus(models.TextChoices):
    # Open to the public and its staff.
    ACTIVE = "active", _("Active")
    # Temporarily not serving the public (evacuation, renovation); staff can still work.
    SUSPENDED = "suspended", _("Suspended")
    # Closed for good; kept for its records.
    CLOSED = "closed", _("Closed")


# The whole machine: suspension is reversible, closing is not (a closed mission's records stay,
# but it never silently becomes active again: that would be a new mission, with a new code).
MISSION_TRANSITIONS: dict[str, frozenset[str]] = {
    MissionStatus.ACTIVE: frozenset({MissionStatus.SUSPENDED, MissionStatus.CLOSED}),
    MissionStatus.SUSPENDED: frozenset({MissionStatus.ACTIVE, MissionStatus.CLOSED}),
    MissionStatus.CLOSED: frozenset(),
}


def validate_code(value: str) -> None:
    if not CODE_PATTERN.match(value):
        raise ValidationError(
            _("Use 2 to 30 lowercase letters, digits or hyphens, starting with a letter."),
            code="invalid",
        )
    if value in RESERVED_CODES or value.startswith("pg-") or value.endswith("-template"):
        raise ValidationError(_("“%(code)s” is reserved."), code="reserved", params={"code": value})


def validate_country(value: str) -> None:
    if not reference.is_country(value):
        raise ValidationError(
            _("“%(value)s” is not an ISO 3166 country code (such as DE or JP)."),
            params={"value": value},
        )


def validate_region(value: str) -> None:
    if not reference.is_region(value):
        raise ValidationError(
            _("“%(value)s” is not a country or subdivision code (such as DE or DE-BY)."),
            params={"value": value},
        )


def validate_timezone(value: str) -> None:
    if not reference.is_timezone(value):
        raise ValidationError(
            _("“%(value)s” is not an IANA time zone (such as Europe/Berlin)."),
            params={"value": value},
        )


def validate_currency(value: str) -> None:
    if not reference.is_currency(value):
        raise ValidationError(
            _("“%(value)s” is not a current ISO 4217 currency code (such as EUR or JPY)."),
            params={"value": value},
        )


def validate_language(value: str) -> None:
    if not reference.is_language(value):
        raise ValidationError(
            _("“%(value)s” is not a language code (such as en or tr)."), params={"value": value}
        )


def validate_office_hours(value: object) -> None:
    """A list of {"weekday": 0-6 (Monday 0), "opens": "HH:MM", "closes": "HH:MM"}."""
    message = _("Office hours need a weekday from 0 to 6 and opening before closing (HH:MM).")
    if not isinstance(value, list):
        raise ValidationError(message)
    pattern = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
    for entry in value:
        if (
            not isinstance(entry, dict)
            or entry.get("weekday") not in range(7)
            or not pattern.match(str(entry.get("opens", "")))
            or not pattern.match(str(entry.get("closes", "")))
            or entry["opens"] >= entry["closes"]
        ):
            raise ValidationError(message)


class WorldRegion(models.TextChoices):
    """The regions HQ groups missions by on its dashboard, coded as the UN M49 continental
    regions. HQ assigns a mission's region: it is how a ministry's regional desks divide the
    work, not a fact of geography."""

    AFRICA = "002", _("Africa")
    AMERICAS = "019", _("Americas")
    ASIA = "142", _("Asia")
    EUROPE = "150", _("Europe")
    OCEANIA = "009", _("Oceania")


class Mission(Workflow, TenantMixin, TimeStampedModel):  # type: ignore[django-manager-missing]
    TRANSITIONS = MISSION_TRANSITIONS

    code = models.CharField(_("code"), max_length=30, unique=True, validators=[validate_code])
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=30, choices=MissionKind.choices)
    host_country = models.CharField(_("host country"), max_length=2, validators=[validate_country])
    city = models.CharField(_("city"), max_length=100)
    timezone = models.CharField(_("time zone"), max_length=64, validators=[validate_timezone])
    currency = models.CharField(_("local currency"), max_length=3, validators=[validate_currency])
    languages = ArrayField(
        models.CharField(max_length=3, validators=[validate_language]),
        verbose_name=_("languages served"),
        default=list,
    )
    address = models.TextField(_("address"), blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    website = models.URLField(_("website"), blank=True)
    jurisdiction = ArrayField(
        models.CharField(max_length=6, validators=[validate_region]),
        verbose_name=_("jurisdiction"),
        default=list,
        blank=True,
        help_text=_("Countries or subdivisions this mission serves, such as DE-BY."),
    )
    office_hours = models.JSONField(
        _("office hours"), default=list, blank=True, validators=[validate_office_hours]
    )
    status = models.CharField(
        _("status"), max_length=20, choices=MissionStatus.choices, default=MissionStatus.ACTIVE
    )
    # Empty: the mission is served from this database. Otherwise the address of the node that
    # serves it (docs/sync.md, "A mission on its own node"): this database's copy of its schema
    # is frozen, its pages send people there, and what it does reaches HQ through sync.
    node_url = models.URLField(_("served by the node at"), blank=True)
    # HQ monitoring (docs/monitoring.md): the region HQ files the mission under, and the
    # mission's own alert thresholds (empty: the defaults in settings)
    region = models.CharField(_("region"), max_length=3, choices=WorldRegion.choices, blank=True)
    silence_alert_minutes = models.PositiveIntegerField(
        _("silence alert after (minutes)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("HQ is alerted when nothing arrives from the mission for this long."),
    )
    wait_target_days = models.PositiveSmallIntegerField(
        _("appointment wait target (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("HQ is alerted when the next free appointment is further away than this."),
    )

    # The schema is cloned from the template by `mission_create` (missions/schemas.py); a bare
    # save() creates none, so a mission never exists without its host, key and first event.
    auto_create_schema = False
    auto_drop_schema = False

    history = history_records()

    class Meta:
        verbose_name = _("mission")
        verbose_name_plural = _("missions")
        ordering = ["host_country", "city", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=CODE_PATTERN.pattern) | models.Q(kind="hq"),
                name="missions_mission_code_format",
            ),
            # a threshold of 0 would mean "always alert" or, read as empty, the default
            models.CheckConstraint(
                condition=models.Q(silence_alert_minutes__isnull=True)
                | models.Q(silence_alert_minutes__gte=1),
                name="missions_mission_silence_alert_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(wait_target_days__isnull=True)
                | models.Q(wait_target_days__gte=1),
                name="missions_mission_wait_target_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_hq(self) -> bool:
        return self.schema_name == settings.PUBLIC_SCHEMA_NAME

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The mission's time zone: every time a person reads is shown in it, zone named."""
        return zoneinfo.ZoneInfo(self.timezone)

    def today(self) -> dt.date:
        """Today's date in the mission's time zone (its business day)."""
        return timezone.localdate(timezone=self.zone)

    def silence_alert_after(self) -> int:
        """Minutes of silence after which HQ is alerted (its own, or the default)."""
        if self.silence_alert_minutes is None:
            return int(settings.SYNC_SILENCE_ALERT_MINUTES)
        return self.silence_alert_minutes

    def wait_target(self) -> int:
        """Days to the next free appointment above which HQ is alerted."""
        if self.wait_target_days is None:
            return int(settings.MONITORING_WAIT_TARGET_DAYS)
        return self.wait_target_days

    @property
    def currency_minor_units(self) -> int:
        return reference.currency_minor_units(self.currency)

    @property
    def host(self) -> str:
        return f"{self.code}.{settings.PORTAL_HOST}"

    @property
    def country_name(self) -> str:
        """The host country, named in the active language (CLDR, through babel)."""
        return reference.country_name(self.host_country)

    @property
    def postal_address(self) -> str:
        """The address in the active language (English when there is none), its last line the
        host country named in that language: the address itself never names the country."""
        lines = [line for line in (self.address or "").splitlines() if line.strip()]
        return "\n".join([*lines, self.country_name])

    @property
    def address_line(self) -> str:
        """`postal_address` on one line, for a sentence or a calendar entry's location."""
        return self.postal_address.replace("\n", ", ")


class Domain(DomainMixin):
    class Meta:
        ordering = ["domain"]


class Role(models.TextChoices):
    # Processes cases and bookings at the counter.
    OFFICER = "officer", _("Officer")
    # Takes fees and closes the cash drawer.
    CASHIER = "cashier", _("Cashier")
    # Approves: the second pair of eyes on decisions, waivers and refunds.
    CONSUL = "consul", _("Consul")
    # Configures the mission: services, hours, staff.
    MISSION_ADMIN = "mission_admin", _("Mission admin")


class Membership(TimeStampedModel):
    """A staff member's role at one mission. One person may hold several roles at one mission."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    mission = models.ForeignKey(Mission, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    is_active = models.BooleanField(_("active"), default=True)

    history = history_records()

    objects: ClassVar[models.Manager[Membership]]

    class Meta:
        ordering = ["mission", "role", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "mission", "role"], name="missions_membership_unique_role"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()} @ {self.mission.code}"


class Handoff(TimeStampedModel):
    """A staff member's passage from the host they are logged in at to a mission's host, so
    that they need not log in again there (session cookies stay per host).

    Made by a POST at the host they leave (`handoff_create`), redeemed once, within
    `HANDOFF_SECONDS`, at the mission's host (`handoff_redeem`): the conditional UPDATE of
    `redeemed_at` lets one redemption through, however many arrive at once. Rows stay as the
    record of who moved where and when; beat prunes old ones. docs/security.md says why."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    mission = models.ForeignKey(Mission, on_delete=models.CASCADE, related_name="+")
    origin = models.CharField(_("from host"), max_length=255)
    # the second factor the session at `origin` passed: {"type": "totp", "id": <authenticator>}
    second_factor = models.JSONField()
    redeemed_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Handoff]]

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(redeemed_at__isnull=True)
                | models.Q(redeemed_at__gte=models.F("created_at")),
                name="missions_handoff_redeemed_after_created",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.mission.code}"


class AlertDigest(TimeStampedModel):
    """HQ monitoring's daily digest of alerts: one per HQ date (the unique day is the lock: two
    runs at once make one), and one delivery per HQ analyst and admin, marked sent only once its
    e-mail went, so a failed one is tried again by the next run that day
    (missions.services.monitoring.monitoring_digest_send)."""

    day = models.DateField(unique=True)  # HQ's local date the digest is for
    alerts = models.PositiveIntegerField()  # how many alerts it listed when first made

    objects: ClassVar[models.Manager[AlertDigest]]

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"digest {self.day}: {self.alerts} alerts"


class AlertDigestDelivery(TimeStampedModel):
    """One person's copy of a day's digest: sent, or still to be (after a failure)."""

    digest = models.ForeignKey(AlertDigest, on_delete=models.PROTECT, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)

    objects: ClassVar[models.Manager[AlertDigestDelivery]]

    class Meta:
        ordering = ["digest", "user"]
        constraints = [
            models.UniqueConstraint(fields=["digest", "user"], name="missions_digest_one_copy"),
        ]

    def __str__(self) -> str:
        return f"{self.digest} to {self.user_id}: {'sent' if self.sent_at else 'to send'}"
