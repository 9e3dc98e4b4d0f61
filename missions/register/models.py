"""HQ's case and staff activity registers, in the public schema, built from the missions'
events (`cases.py`, `activity.py`; docs/sync.md, "Registers"). Generic: an app with cases
(fees' waivers and refund requests now; passports and visas later) names its case types and
the topics that open and close them; nothing here knows an app.

Nothing here is read from a mission's schema: every row is what the mission's events said.
`RegisteredCase` holds each case as the events known so far describe it; `CaseDay` and
`CaseMonth` hold, per mission, case type and local day (month), the sums HQ pages read, kept
as events apply. `StaffActivityDay` says which staff acted at a mission on a day.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from sync.hq.models import MISSION_CODE_LENGTH

CASE_TYPE_LENGTH = 50


class CaseOutcome(models.TextChoices):
    OPEN = "", "open"
    GRANTED = "granted", "granted"
    REFUSED = "refused", "refused"
    WITHDRAWN = "withdrawn", "withdrawn"


class RegisteredCase(models.Model):
    """One case of one mission, keyed by the mission, its type and its aggregate id.

    Each fact is set by the event that carries it with the right seq: the opening by the
    opening event with the lowest seq (`opened_seq`), the closing by the closing event with
    the highest (`closed_seq`), so events applied in any order, or twice, give the same row.
    A case whose opening event has not arrived yet (`opened_seq` null) counts in no `CaseDay`
    until it does."""

    mission = models.CharField(max_length=MISSION_CODE_LENGTH)
    case_type = models.CharField(max_length=CASE_TYPE_LENGTH)
    case_id = models.CharField(max_length=100)  # the events' aggregate_id
    opened_at = models.DateTimeField(null=True, blank=True)
    opened_day = models.DateField(null=True, blank=True)  # opened_at's date at the mission
    opened_seq = models.BigIntegerField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_day = models.DateField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=CaseOutcome.choices, blank=True)
    closed_seq = models.BigIntegerField(default=0)
    last_seq = models.BigIntegerField(default=0)

    objects: ClassVar[models.Manager[RegisteredCase]]

    class Meta:
        ordering = ["mission", "case_type", "case_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mission", "case_type", "case_id"], name="missions_register_case_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(opened_seq__isnull=True)
                | models.Q(opened_at__isnull=False, opened_day__isnull=False),
                name="missions_register_case_opened_complete",
            ),
            models.CheckConstraint(
                condition=models.Q(closed_seq=0, outcome="", closed_at__isnull=True)
                | (
                    models.Q(closed_seq__gt=0, closed_at__isnull=False, closed_day__isnull=False)
                    & ~models.Q(outcome="")
                ),
                name="missions_register_case_closed_complete",
            ),
        ]
        indexes = [
            # the open cases (the backlog) of every mission: the dashboard's one read
            models.Index(
                fields=["mission", "case_type", "opened_at"],
                condition=models.Q(closed_seq=0, opened_seq__isnull=False),
                name="missions_register_case_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mission} {self.case_type} {self.case_id}: {self.outcome or 'open'}"


# The sums of `CaseSums`, in the order the projector and the reads use them.
CASE_SUMS = ("opened", "closed", "granted", "refused", "withdrawn", "decision_days")


class CaseSums(models.Model):
    """Cases opened and closed on a day (or in a month), how they ended, and how long the
    closed ones took."""

    mission = models.CharField(max_length=MISSION_CODE_LENGTH)
    case_type = models.CharField(max_length=CASE_TYPE_LENGTH)
    opened = models.IntegerField(default=0)  # cases opened then (whatever came after)
    closed = models.IntegerField(default=0)  # cases closed then, = granted + refused + withdrawn
    granted = models.IntegerField(default=0)
    refused = models.IntegerField(default=0)
    withdrawn = models.IntegerField(default=0)
    # days from each case's opening day to its closing day, summed over the cases closed then:
    # decision_days / closed is the mean time to decide
    decision_days = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


# A fault in the projector (or a raw UPDATE) cannot leave counts no set of cases could give.
COUNTS_POSSIBLE = models.Q(
    opened__gte=0,
    granted__gte=0,
    refused__gte=0,
    withdrawn__gte=0,
    decision_days__gte=0,
    closed=models.F("granted") + models.F("refused") + models.F("withdrawn"),
)


class CaseDay(CaseSums):
    """Per mission, case type and local day: each registered case counts once as opened on
    its opening day and, once closed, once as closed on its closing day."""

    day = models.DateField()

    objects: ClassVar[models.Manager[CaseDay]]

    class Meta:
        ordering = ["mission", "case_type", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["mission", "case_type", "day"], name="missions_register_case_day_unique"
            ),
            models.CheckConstraint(condition=COUNTS_POSSIBLE, name="missions_register_case_day_ok"),
        ]
        indexes = [models.Index(fields=["day", "mission"], name="missions_reg_case_day_all")]

    def __str__(self) -> str:
        return f"{self.mission} {self.case_type} {self.day}: {self.opened} opened"


class CaseMonth(CaseSums):
    """Per mission, case type and month (its first day): the same sums as `CaseDay`, kept by
    the same batch, so a year of every mission is twelve rows a case type."""

    month = models.DateField()

    objects: ClassVar[models.Manager[CaseMonth]]

    class Meta:
        ordering = ["mission", "case_type", "month"]
        constraints = [
            models.UniqueConstraint(
                fields=["mission", "case_type", "month"],
                name="missions_register_case_month_unique",
            ),
            models.CheckConstraint(
                condition=COUNTS_POSSIBLE & models.Q(month__day=1),
                name="missions_register_case_month_ok",
            ),
        ]
        indexes = [models.Index(fields=["month", "mission"], name="missions_reg_case_month_all")]

    def __str__(self) -> str:
        return f"{self.mission} {self.case_type} {self.month:%Y-%m}: {self.opened} opened"


class StaffActivityDay(models.Model):
    """A member of a mission's staff (`actor_id`, their user id) did something only staff do
    there on that local day. One row per person and day, however much they did."""

    mission = models.CharField(max_length=MISSION_CODE_LENGTH)
    day = models.DateField()
    actor_id = models.BigIntegerField()

    objects: ClassVar[models.Manager[StaffActivityDay]]

    class Meta:
        ordering = ["mission", "day", "actor_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mission", "day", "actor_id"], name="missions_register_activity_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(actor_id__gt=0), name="missions_register_activity_actor"
            ),
        ]
        indexes = [models.Index(fields=["day", "mission"], name="missions_reg_activity_day")]

    def __str__(self) -> str:
        return f"{self.mission} {self.day}: staff {self.actor_id}"
