"""A visa application at a mission, from the applicant's draft to the consul's decision and the
visa's end (docs/visas.md)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from consulate.kernel.crypto.fields import BlindIndexField, EncryptedDateField, EncryptedTextField
from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel
from consulate.kernel.workflows import Workflow


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")
    UNSPECIFIED = "X", _("Unspecified")


# "Entries" of a visa (how many times it lets its holder in), not a lottery's entries.
ENTRIES_LABEL = pgettext_lazy("a visa: how many times it lets its holder in", "Entries")


class Entries(models.TextChoices):
    SINGLE = "1", _("Single entry")
    DOUBLE = "2", _("Two entries")
    MULTIPLE = "M", _("Multiple entries")


class VisaStatus(models.TextChoices):
    # Being filled in by the applicant, saved as they type; nobody at the mission sees it.
    DRAFT = "draft", _("Draft")
    # Sent with its documents; waits for an officer's completeness check.
    SUBMITTED = "submitted", _("Waiting for the completeness check")
    # An officer asked for corrections, each with a reason, by a deadline.
    CORRECTIONS = "corrections", _("Corrections asked for")
    # Every item accepted: the application is admissible, the legal clock runs and the
    # applicant may book the biometrics appointment.
    COMPLETE = "complete", _("Complete: book your appointment")
    # Seen at the mission: identity checked, biometrics taken, the fee verified paid.
    ATTENDED = "attended", _("Being examined")
    # An officer recommends issuing or refusing; waits for a consul (not the same person).
    RECOMMENDED = "recommended", _("Waiting for the consul's decision")
    ISSUED = "issued", _("Visa issued")
    REFUSED = "refused", _("Refused")
    # The applicant appealed the refusal; waits for the appeal's decision.
    APPEALED = "appealed", _("Appeal under examination")
    # The applicant withdrew it.
    WITHDRAWN = "withdrawn", _("Withdrawn")
    # Corrections were not made by their deadline (Visa Code: the application is not pursued).
    DEEMED_WITHDRAWN = "deemed_withdrawn", _("Closed: corrections not made in time")
    # An issued visa ended by a consul: annulled (its conditions were never met) or revoked
    # (they no longer are).
    ANNULLED = "annulled", _("Visa annulled")
    REVOKED = "revoked", _("Visa revoked")


# The whole machine. A consul who disagrees with a recommendation sends the case back to the
# officers (attended). An appeal upheld confirms the refusal; one that succeeds reopens the
# examination (attended) for a new recommendation and decision.
VISA_TRANSITIONS: dict[str, frozenset[str]] = {
    VisaStatus.DRAFT: frozenset({VisaStatus.SUBMITTED, VisaStatus.WITHDRAWN}),
    VisaStatus.SUBMITTED: frozenset(
        {VisaStatus.CORRECTIONS, VisaStatus.COMPLETE, VisaStatus.WITHDRAWN}
    ),
    VisaStatus.CORRECTIONS: frozenset(
        {VisaStatus.SUBMITTED, VisaStatus.WITHDRAWN, VisaStatus.DEEMED_WITHDRAWN}
    ),
    VisaStatus.COMPLETE: frozenset({VisaStatus.ATTENDED, VisaStatus.WITHDRAWN}),
    VisaStatus.ATTENDED: frozenset({VisaStatus.RECOMMENDED}),
    VisaStatus.RECOMMENDED: frozenset({VisaStatus.ISSUED, VisaStatus.REFUSED, VisaStatus.ATTENDED}),
    VisaStatus.ISSUED: frozenset({VisaStatus.ANNULLED, VisaStatus.REVOKED}),
    VisaStatus.REFUSED: frozenset({VisaStatus.APPEALED}),
    VisaStatus.APPEALED: frozenset({VisaStatus.REFUSED, VisaStatus.ATTENDED}),
    VisaStatus.WITHDRAWN: frozenset(),
    VisaStatus.DEEMED_WITHDRAWN: frozenset(),
    VisaStatus.ANNULLED: frozenset(),
    VisaStatus.REVOKED: frozenset(),
}
# States in the officers' work queue, oldest first.
OPEN = (
    VisaStatus.SUBMITTED,
    VisaStatus.CORRECTIONS,
    VisaStatus.COMPLETE,
    VisaStatus.ATTENDED,
    VisaStatus.RECOMMENDED,
    VisaStatus.APPEALED,
)
# States where the legal clock runs (admissible, not decided).
CLOCK_RUNNING = (VisaStatus.COMPLETE, VisaStatus.ATTENDED, VisaStatus.RECOMMENDED)
# One application per passport at a mission at a time.
IN_PROGRESS = ["submitted", "corrections", "complete", "attended", "recommended", "appealed"]
DECIDED = ["issued", "refused", "appealed", "annulled", "revoked"]


class Recommendation(models.TextChoices):
    ISSUE = "issue", _("Issue the visa")
    REFUSE = "refuse", _("Refuse")


class RefusalGround(models.TextChoices):
    """The standard grounds (Visa Code, Annex VI); a refusal, annulment or revocation names one
    or more."""

    FALSE_DOCUMENT = (
        "false_document",
        _("A false, counterfeit or forged travel document was presented."),
    )
    PURPOSE = "purpose", _("The purpose and conditions of the intended stay were not justified.")
    MEANS = (
        "means",
        _(
            "You did not provide proof of sufficient means of subsistence for the stay and the"
            " return, or of the means to obtain them lawfully."
        ),
    )
    STAY_USED = (
        "stay_used",
        _(
            "You have already stayed 90 days in the current 180-day period on a uniform or"
            " limited-territorial-validity visa."
        ),
    )
    ALERT = "alert", _("An alert has been issued for the purpose of refusing entry.")
    PUBLIC_POLICY = (
        "public_policy",
        _(
            "You are considered a threat to public policy, internal security, public health or"
            " international relations."
        ),
    )
    INSURANCE = (
        "insurance",
        _("Proof of adequate and valid travel medical insurance was not provided."),
    )
    UNRELIABLE = (
        "unreliable",
        _("The information submitted on the purpose and conditions of the stay was not reliable."),
    )
    RETURN_INTENTION = (
        "return_intention",
        _("Your intention to leave before the visa expires could not be ascertained."),
    )
    TRANSIT = (
        "transit",
        _("You did not provide sufficient proof that you can apply for an airport transit visa."),
    )


class VisaApplication(Workflow, TimeStampedModel):
    """One visa application. What identifies the person is encrypted with the mission's key; the
    passport number is blind-indexed under HQ's key too, so it matches HQ's register of visa
    cases (the refusals of other missions)."""

    TRANSITIONS = VISA_TRANSITIONS

    reference = models.CharField(_("reference"), max_length=12, unique=True)
    user_id = models.BigIntegerField(_("account"), db_index=True)
    email = models.EmailField(_("e-mail"))
    language = models.CharField(_("language"), max_length=10, default="en")
    category = models.CharField(_("visa category"), max_length=30)
    status = models.CharField(
        _("status"), max_length=20, choices=VisaStatus.choices, default=VisaStatus.DRAFT
    )
    # Identity, as in the passport.
    surname = EncryptedTextField(_("surname"), blank=True)
    surname_index = BlindIndexField(source="surname", purpose="visa_surname")
    given_names = EncryptedTextField(_("given names"), blank=True)
    birth_date = EncryptedDateField(_("date of birth"), null=True, blank=True)
    birth_place = EncryptedTextField(_("place of birth"), blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    # ICAO 9303 three-letter code (the MRZ's); kept in clear for the statistics.
    nationality = models.CharField(_("nationality"), max_length=3, blank=True)
    # The passport the visa goes into.
    passport_number = EncryptedTextField(_("passport number"), blank=True)
    passport_index = BlindIndexField(
        source="passport_number", purpose="travel_document", shared=True
    )
    passport_issuing_state = models.CharField(_("issued by"), max_length=3, blank=True)
    passport_expires_on = models.DateField(_("passport valid until"), null=True, blank=True)
    address = EncryptedTextField(_("home address"), blank=True)
    phone = EncryptedTextField(_("phone"), blank=True)
    occupation = EncryptedTextField(_("occupation"), blank=True)
    # The journey.
    entry_date = models.DateField(_("date of arrival"), null=True, blank=True)
    exit_date = models.DateField(_("date of departure"), null=True, blank=True)
    entries = models.CharField(
        _("entries"), max_length=1, choices=Entries.choices, default=Entries.SINGLE
    )
    stay_address = EncryptedTextField(_("address during the stay"), blank=True)
    # Host or employer (who invites, employs or teaches the applicant).
    host_name = EncryptedTextField(_("host, employer or school"), blank=True)
    host_address = EncryptedTextField(_("host's address"), blank=True)
    # Previous visas and refusals, as the applicant declares them.
    previous_visas = EncryptedTextField(_("visas in the last five years"), blank=True)
    previous_refusals = EncryptedTextField(_("refusals in the last five years"), blank=True)
    # Means of support during the stay.
    means = EncryptedTextField(_("means of support"), blank=True)
    # The category's own questions: JSON {question code: answer}.
    answers = EncryptedTextField(_("answers"), blank=True)
    # Links to the other apps, by id: the fee assessment and the biometrics booking.
    assessment_id = models.BigIntegerField(null=True, blank=True)
    booking_id = models.BigIntegerField(null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # Corrections asked for: by when (the mission's local date), else deemed withdrawn.
    corrections_due_on = models.DateField(_("corrections due by"), null=True, blank=True)
    # The legal clock: admissible at, decision due on (mission's local date), extended to.
    admissible_at = models.DateTimeField(_("admissible since"), null=True, blank=True)
    decision_due_on = models.DateField(_("decision due by"), null=True, blank=True)
    extended_due_on = models.DateField(_("extended to"), null=True, blank=True)
    extension_reason = models.TextField(_("reason for the extension"), blank=True)
    attended_at = models.DateTimeField(null=True, blank=True)
    attended_by_id = models.BigIntegerField(null=True, blank=True)
    recommendation = models.CharField(
        _("recommendation"), max_length=10, choices=Recommendation.choices, blank=True
    )
    recommendation_grounds = models.JSONField(default=list, blank=True)
    recommendation_note = models.TextField(_("note"), blank=True)
    recommended_by_id = models.BigIntegerField(null=True, blank=True)
    recommended_at = models.DateTimeField(null=True, blank=True)
    decided_by_id = models.BigIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # A refusal's grounds (RefusalGround codes) and what the applicant reads besides.
    refusal_grounds = models.JSONField(default=list, blank=True)
    refusal_note = models.TextField(_("explanation"), blank=True)
    # The visa, as issued.
    visa_number = EncryptedTextField(_("visa number"), blank=True)
    visa_number_index = BlindIndexField(
        source="visa_number", purpose="travel_document", shared=True
    )
    visa_valid_from = models.DateField(_("valid from"), null=True, blank=True)
    visa_valid_until = models.DateField(_("valid until"), null=True, blank=True)
    visa_entries = models.CharField(_("entries"), max_length=1, choices=Entries.choices, blank=True)
    visa_duration_days = models.PositiveSmallIntegerField(_("days of stay"), null=True, blank=True)
    visa_mrz = EncryptedTextField(_("machine-readable zone"), blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    # An annulment or revocation: when, by whom, its grounds and explanation.
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by_id = models.BigIntegerField(null=True, blank=True)
    end_grounds = models.JSONField(default=list, blank=True)
    end_note = models.TextField(_("explanation"), blank=True)
    # Withdrawn, or deemed withdrawn: when.
    closed_at = models.DateTimeField(null=True, blank=True)

    history = history_records()
    objects: ClassVar[models.Manager[VisaApplication]]

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Four eyes: the consul who decides is never the officer who recommended.
            models.CheckConstraint(
                condition=Q(decided_by_id__isnull=True)
                | (Q(recommended_by_id__isnull=False) & ~Q(decided_by_id=F("recommended_by_id"))),
                name="visas_application_four_eyes",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=DECIDED) | Q(decided_by_id__isnull=False),
                name="visas_application_decided_by",
            ),
            # A refusal names at least one ground.
            models.CheckConstraint(
                condition=~Q(status__in=["refused", "appealed"]) | ~Q(refusal_grounds=[]),
                name="visas_application_refusal_grounds",
            ),
            # A decision only on an admissible file, examined at the visit.
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "draft",
                        "submitted",
                        "corrections",
                        "withdrawn",
                        "deemed_withdrawn",
                    ]
                )
                | Q(admissible_at__isnull=False, decision_due_on__isnull=False),
                name="visas_application_admissible",
            ),
            models.CheckConstraint(
                condition=Q(decided_by_id__isnull=True) | Q(attended_at__isnull=False),
                name="visas_application_decided_after_visit",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["issued", "annulled", "revoked"])
                | Q(visa_valid_from__isnull=False, visa_valid_until__isnull=False)
                & Q(visa_valid_until__gte=F("visa_valid_from")),
                name="visas_application_visa_dates",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["annulled", "revoked"]) | ~Q(end_grounds=[]),
                name="visas_application_end_grounds",
            ),
            # The clock extends up to 45 days after admissibility, with a reason.
            models.CheckConstraint(
                condition=Q(extended_due_on__isnull=True)
                | (
                    Q(decision_due_on__isnull=False)
                    & Q(extended_due_on__gt=F("decision_due_on"))
                    & ~Q(extension_reason="")
                ),
                name="visas_application_extension",
            ),
            models.CheckConstraint(
                condition=Q(exit_date__isnull=True)
                | Q(entry_date__isnull=True)
                | Q(exit_date__gte=F("entry_date")),
                name="visas_application_journey",
            ),
            # One open application per passport at a mission.
            models.UniqueConstraint(
                fields=["passport_index"],
                condition=Q(status__in=IN_PROGRESS) & ~Q(passport_index=""),
                name="visas_application_one_open_per_passport",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def due_on(self):  # type: ignore[no-untyped-def]
        """The decision's deadline now: the extension's when there is one."""
        return self.extended_due_on or self.decision_due_on

    def can_edit(self) -> bool:
        return self.status == VisaStatus.DRAFT

    def can_correct(self) -> bool:
        return self.status == VisaStatus.CORRECTIONS

    def can_withdraw(self) -> bool:
        return self.can_move_to(VisaStatus.WITHDRAWN)

    def can_book(self) -> bool:
        return self.status == VisaStatus.COMPLETE


class Step(models.TextChoices):
    """What the applicant's timeline shows, in order; each one is also a message on the status
    page and an e-mail. Corrections can happen more than once."""

    SUBMITTED = "submitted", _("Submitted")
    CORRECTIONS_ASKED = "corrections_asked", _("Corrections asked for")
    CORRECTED = "corrected", _("Corrections sent")
    COMPLETE = "complete", _("Application complete")
    PAID = "paid", _("Paid")
    BOOKED = "booked", _("Appointment booked")
    ATTENDED = "attended", pgettext_lazy("a visa applicant at the mission", "Appointment attended")
    EXTENDED = "extended", _("Decision period extended")
    ISSUED = "issued", _("Visa issued")
    REFUSED = "refused", _("Refused")
    APPEALED = "appealed", _("Appeal lodged")
    APPEAL_UPHELD = "appeal_upheld", _("Appeal decided: refusal confirmed")
    APPEAL_GRANTED = "appeal_granted", _("Appeal decided: examined again")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    DEEMED_WITHDRAWN = "deemed_withdrawn", _("Closed: corrections not made in time")
    ANNULLED = "annulled", _("Visa annulled")
    REVOKED = "revoked", _("Visa revoked")


class VisaStep(models.Model):
    """A step of the case as the applicant sees it, with its message. Append-only."""

    application = models.ForeignKey(VisaApplication, on_delete=models.PROTECT, related_name="steps")
    step = models.CharField(max_length=20, choices=Step.choices)
    happened_at = models.DateTimeField()
    # What the applicant reads besides the step's name (the corrections, a refusal's grounds).
    note = models.TextField(blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[VisaStep]]

    class Meta:
        ordering = ["application", "happened_at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.step}"
