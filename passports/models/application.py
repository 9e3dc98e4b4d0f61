"""A passport application at a mission, from the citizen's draft to the consul's decision."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from consulate.kernel.crypto.fields import BlindIndexField, EncryptedDateField, EncryptedTextField
from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel
from consulate.kernel.workflows import Workflow


class ApplicationKind(models.TextChoices):
    FIRST = "first", _("First passport")
    RENEWAL = "renewal", _("Renewal")
    LOST = "lost", _("Replacement of a lost passport")
    STOLEN = "stolen", _("Replacement of a stolen passport")
    CHILD = "child", _("Child's passport")


# Kinds that replace a passport the applicant held: its number is asked for and checked.
REPLACING = frozenset({ApplicationKind.RENEWAL, ApplicationKind.LOST, ApplicationKind.STOLEN})
# Kinds whose old passport is reported lost or stolen when the application is submitted.
REPORTING: dict[str, str] = {ApplicationKind.LOST: "lost", ApplicationKind.STOLEN: "stolen"}


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")
    UNSPECIFIED = "X", _("Unspecified")


class ApplicationStatus(models.TextChoices):
    # Being filled in by the citizen, saved as they type; nobody at the mission sees it.
    DRAFT = "draft", _("Draft")
    # Sent with an accepted photo; the fee is assessed; waits for the biometrics visit.
    SUBMITTED = "submitted", _("Submitted")
    # At the visit: identity checked, fingerprints captured, fee verified paid.
    BIOMETRICS_TAKEN = "biometrics_taken", _("Biometrics taken")
    # An officer recommends issuing or refusing; waits for a consul (not the same person).
    RECOMMENDED = "recommended", _("Waiting for the consul's decision")
    # A consul approved; sent to HQ, which personalises and prints the passport.
    APPROVED = "approved", _("Approved")
    # HQ printed it and sent it to the mission.
    DISPATCHED = "dispatched", _("Printed, on its way to the mission")
    # At the mission, waiting for its holder.
    READY = "ready", _("Ready for collection")
    # Handed over and signed for; the old passport cancelled.
    COLLECTED = "collected", pgettext_lazy("a passport handed to its holder", "Collected")
    # A consul refused, stating the reason.
    REFUSED = "refused", _("Refused")
    # The citizen withdrew it before the visit.
    WITHDRAWN = "withdrawn", _("Withdrawn")


# The whole machine. A consul who disagrees with a recommendation sends the case back to the
# officers (biometrics taken) rather than deciding against it alone.
APPLICATION_TRANSITIONS: dict[str, frozenset[str]] = {
    ApplicationStatus.DRAFT: frozenset({ApplicationStatus.SUBMITTED, ApplicationStatus.WITHDRAWN}),
    ApplicationStatus.SUBMITTED: frozenset(
        {ApplicationStatus.BIOMETRICS_TAKEN, ApplicationStatus.WITHDRAWN}
    ),
    ApplicationStatus.BIOMETRICS_TAKEN: frozenset({ApplicationStatus.RECOMMENDED}),
    ApplicationStatus.RECOMMENDED: frozenset(
        {
            ApplicationStatus.APPROVED,
            ApplicationStatus.REFUSED,
            ApplicationStatus.BIOMETRICS_TAKEN,
        }
    ),
    ApplicationStatus.APPROVED: frozenset({ApplicationStatus.DISPATCHED}),
    ApplicationStatus.DISPATCHED: frozenset({ApplicationStatus.READY}),
    ApplicationStatus.READY: frozenset({ApplicationStatus.COLLECTED}),
    ApplicationStatus.COLLECTED: frozenset(),
    ApplicationStatus.REFUSED: frozenset(),
    ApplicationStatus.WITHDRAWN: frozenset(),
}
# States of a case still on its way to a passport: one per person at a time (a second
# application for someone whose passport is being printed would print two).
IN_PROGRESS = [
    "submitted", "biometrics_taken", "recommended", "approved", "dispatched", "ready",
]  # fmt: skip
# States in the officers' work queue, oldest first.
OPEN = (
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.BIOMETRICS_TAKEN,
    ApplicationStatus.RECOMMENDED,
)


class Recommendation(models.TextChoices):
    ISSUE = "issue", _("Issue the passport")
    REFUSE = "refuse", _("Refuse")


class Application(Workflow, TimeStampedModel):
    """One passport application. What identifies the person is encrypted with the mission's key;
    the national ID and the previous passport number are also blind-indexed for exact look-ups
    (the previous passport under HQ's key, so it matches HQ's register of lost and stolen
    documents)."""

    TRANSITIONS = APPLICATION_TRANSITIONS

    reference = models.CharField(_("reference"), max_length=12, unique=True)
    user_id = models.BigIntegerField(_("account"), db_index=True)
    email = models.EmailField(_("e-mail"))
    language = models.CharField(_("language"), max_length=10, default="en")
    kind = models.CharField(_("kind"), max_length=10, choices=ApplicationKind.choices)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.DRAFT,
    )
    # The person the passport is for (a child, when a parent applies).
    surname = EncryptedTextField(_("surname"), blank=True)
    surname_index = BlindIndexField(source="surname", purpose="passport_surname")
    given_names = EncryptedTextField(_("given names"), blank=True)
    birth_date = EncryptedDateField(_("date of birth"), null=True, blank=True)
    birth_place = EncryptedTextField(_("place of birth"), blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    national_id = EncryptedTextField(_("national ID number"), blank=True)
    national_id_index = BlindIndexField(source="national_id", purpose="national_id")
    height_cm = models.PositiveSmallIntegerField(_("height (cm)"), null=True, blank=True)
    address = EncryptedTextField(_("address abroad"), blank=True)
    phone = EncryptedTextField(_("phone"), blank=True)
    previous_document = EncryptedTextField(_("previous passport number"), blank=True)
    previous_document_index = BlindIndexField(
        source="previous_document", purpose="travel_document", shared=True
    )
    # A child's passport: the other parent's consent, recorded with their name.
    other_parent_name = EncryptedTextField(_("other parent's name"), blank=True)
    other_parent_consent = models.BooleanField(_("the other parent consents"), default=False)
    # Links to the other apps, by id: the fee assessment and the biometrics booking.
    assessment_id = models.BigIntegerField(null=True, blank=True)
    booking_id = models.BigIntegerField(null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    biometrics_taken_at = models.DateTimeField(null=True, blank=True)
    biometrics_taken_by_id = models.BigIntegerField(null=True, blank=True)
    recommendation = models.CharField(
        _("recommendation"), max_length=10, choices=Recommendation.choices, blank=True
    )
    recommendation_reason = models.TextField(_("reason"), blank=True)
    recommended_by_id = models.BigIntegerField(null=True, blank=True)
    recommended_at = models.DateTimeField(null=True, blank=True)
    decided_by_id = models.BigIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    refusal_reason = models.TextField(_("reason for refusal"), blank=True)
    # The new passport, as HQ printed it.
    document_number = EncryptedTextField(_("passport number"), blank=True)
    document_expires_on = models.DateField(_("valid until"), null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    collected_at = models.DateTimeField(null=True, blank=True)
    handed_over_by_id = models.BigIntegerField(null=True, blank=True)
    # The old passport, presented and cancelled at the collection (empty: none presented).
    old_document_cancelled = models.BooleanField(default=False)

    history = history_records()
    objects: ClassVar[models.Manager[Application]]

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status__in=["dispatched", "ready", "collected"])
                | Q(document_expires_on__isnull=False),
                name="passports_application_number_when_printed",
            ),
            # Four eyes: the consul who decides is never the officer who recommended.
            models.CheckConstraint(
                condition=Q(decided_by_id__isnull=True)
                | (Q(recommended_by_id__isnull=False) & ~Q(decided_by_id=F("recommended_by_id"))),
                name="passports_application_four_eyes",
            ),
            models.CheckConstraint(
                condition=~Q(status="refused") | ~Q(refusal_reason=""),
                name="passports_application_refusal_reason",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "draft",
                        "submitted",
                        "biometrics_taken",
                        "recommended",
                        "withdrawn",
                    ]
                )
                | Q(decided_by_id__isnull=False),
                name="passports_application_decided_by",
            ),
            models.CheckConstraint(
                condition=Q(height_cm__isnull=True) | Q(height_cm__gte=30, height_cm__lte=260),
                name="passports_application_height",
            ),
            # One open application per person at a mission (the national ID of whom it is for).
            models.UniqueConstraint(
                fields=["national_id_index"],
                condition=Q(status__in=IN_PROGRESS) & ~Q(national_id_index=""),
                name="passports_application_one_open_per_person",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_child(self) -> bool:
        return self.kind == ApplicationKind.CHILD

    @property
    def replaces_document(self) -> bool:
        return self.kind in REPLACING

    def current_photo(self) -> Any:
        """The photo the application uses now (a `Photo`; older ones stay on record), or None."""
        return self.photos.filter(is_current=True).first()  # type: ignore[attr-defined]

    def can_edit(self) -> bool:
        return self.status == ApplicationStatus.DRAFT

    def can_withdraw(self) -> bool:
        return self.can_move_to(ApplicationStatus.WITHDRAWN)

    def can_take_biometrics(self) -> bool:
        return self.can_move_to(ApplicationStatus.BIOMETRICS_TAKEN) and (
            self.status == ApplicationStatus.SUBMITTED
        )

    def can_recommend(self) -> bool:
        return self.can_move_to(ApplicationStatus.RECOMMENDED)

    def can_decide(self) -> bool:
        return self.can_move_to(ApplicationStatus.APPROVED)

    def can_record_arrival(self) -> bool:
        return self.can_move_to(ApplicationStatus.READY)

    def can_collect(self) -> bool:
        return self.can_move_to(ApplicationStatus.COLLECTED)

    def age_on(self, day: dt.date) -> int | None:
        if self.birth_date is None:
            return None
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class Step(models.TextChoices):
    """What the citizen's timeline shows, in order; each one is also a message in the case's
    inbox and an e-mail (except the photo, which happens while the draft is filled)."""

    PHOTO_ACCEPTED = "photo_accepted", _("Photo accepted")
    SUBMITTED = "submitted", _("Submitted")
    PAID = "paid", _("Paid")
    BIOMETRICS_TAKEN = "biometrics_taken", _("Biometrics taken")
    APPROVED = "approved", _("Approved")
    SENT = "sent", _("Sent for personalisation")
    PRINTED = "printed", _("Printed")
    ARRIVED = "arrived", _("Arrived at the mission")
    READY = "ready", _("Ready for collection")
    COLLECTED = "collected", pgettext_lazy("a passport handed to its holder", "Collected")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ApplicationStep(models.Model):
    """A step of the case as the citizen sees it, with its message. Append-only."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="steps")
    step = models.CharField(max_length=20, choices=Step.choices)
    happened_at = models.DateTimeField()
    # What the citizen reads besides the step's name (a refusal's reason).
    note = models.TextField(blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[ApplicationStep]]

    class Meta:
        ordering = ["application", "happened_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "step"], name="passports_step_once"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.step}"
