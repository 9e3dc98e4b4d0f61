"""The transactional outbox: one append-only table in every mission schema.

Each state change in a mission writes one event here in the same transaction. The sequence
number is assigned by a database trigger from a one-row counter, so it is gapless (a rolled-back
transaction rolls back its increment too) and cannot be chosen by the writer, even in raw SQL.
Other triggers refuse UPDATE, DELETE and TRUNCATE. The sync issue reads these rows into signed
bundles for HQ; payloads therefore carry identifiers and facts, never personal data in clear.
"""

from django.db import models


class DatabaseAssignedBigIntegerField(models.BigIntegerField):
    """A column whose value the database sets on insert (a trigger), read back by RETURNING."""

    db_returning = True


class OutboxEvent(models.Model):
    seq = DatabaseAssignedBigIntegerField(unique=True, editable=False, db_default=0)
    topic = models.CharField(max_length=100)
    aggregate_type = models.CharField(max_length=50)
    aggregate_id = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    # the payload's version for its topic (docs/events.md); 1 for a raw insert that omits it
    version = models.PositiveSmallIntegerField(default=1, db_default=1)
    actor_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.CheckConstraint(condition=models.Q(seq__gt=0), name="sync_outbox_seq_positive")
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.topic} {self.aggregate_type}:{self.aggregate_id}"


class OutboxCounter(models.Model):
    """The last sequence number given out. Exactly one row (id 1), created by the migration."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="sync_outboxcounter_single_row")
        ]

    def __str__(self) -> str:
        return f"outbox counter at {self.last_seq}"
