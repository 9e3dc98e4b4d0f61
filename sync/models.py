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


# --- This mission's side of its link to HQ (docs/sync.md) ---------------------------------------


class SigningKey(models.Model):
    """This mission's Ed25519 keys. Bundles are signed with the active one; HQ holds the public
    halves (`sync.hq.models.MissionKey`). The private key is wrapped under the master key
    (`sync.keys`), bound to the mission and the key id, so a copied row is useless."""

    key_id = models.PositiveIntegerField(unique=True)
    public_key = models.BinaryField()
    wrapped_private_key = models.BinaryField()
    created_at = models.DateTimeField()
    is_active = models.BooleanField(default=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["key_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="sync_signingkey_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"signing key {self.key_id}{' (active)' if self.is_active else ''}"


class KeyPurpose(models.TextChoices):
    SIGN = "sign", "Ed25519 signature"
    ENCRYPT = "encrypt", "X25519 key agreement"


class TrustedKey(models.Model):
    """HQ's public keys as this mission knows them: `sign` checks what HQ sends (reference data,
    acknowledgements), `encrypt` is what a file bundle for HQ is encrypted to."""

    purpose = models.CharField(max_length=10, choices=KeyPurpose.choices)
    key_id = models.PositiveIntegerField()
    public_key = models.BinaryField()
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["purpose", "key_id"]
        constraints = [
            models.UniqueConstraint(fields=["purpose", "key_id"], name="sync_trustedkey_unique")
        ]

    def __str__(self) -> str:
        return f"HQ {self.purpose} key {self.key_id}"


class SyncLink(models.Model):
    """One row (id 1): where this mission stands with HQ."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    # the chain of bundles this mission has built
    last_bundle_number = models.PositiveIntegerField(default=0)
    last_bundle_hash = models.CharField(max_length=64, blank=True)
    last_bundled_seq = models.BigIntegerField(default=0)
    # what HQ said it has applied (its high-water mark)
    acked_seq = models.BigIntegerField(default=0)
    # pushes: the last try, the last success, and when to try again after failures (backoff)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    # bundles HQ asked for again (a gap or a reconciliation difference): [[first, last], ...]
    resend_ranges = models.JSONField(default=list, blank=True)
    # `created_at` of the newest ack whose `want` became resend_ranges: an older one replayed
    # does not set them back (`sync.export.answer_apply`)
    resend_ranges_ack_at = models.DateTimeField(null=True, blank=True)
    # the copy of HQ's reference data this mission reads
    reference_version = models.PositiveIntegerField(default=0)
    reference_signed_at = models.DateTimeField(null=True, blank=True)
    reference_received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="sync_synclink_single_row")
        ]

    def __str__(self) -> str:
        return f"link to HQ: bundled {self.last_bundled_seq}, acknowledged {self.acked_seq}"


class SentBundle(models.Model):
    """A bundle this mission built, kept (signed, as sent) so that it can be sent again."""

    number = models.PositiveIntegerField(unique=True)
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    event_count = models.PositiveIntegerField()
    hash = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64, blank=True)
    key_id = models.PositiveIntegerField()
    created_at = models.DateTimeField()
    data = models.BinaryField()  # the signed frame (`sync.bundle.SignedBundle.to_bytes`)
    acked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_seq__gte=models.F("first_seq")),
                name="sync_sentbundle_range",
            )
        ]

    def __str__(self) -> str:
        return f"bundle {self.number} (#{self.first_seq}-#{self.last_seq})"
