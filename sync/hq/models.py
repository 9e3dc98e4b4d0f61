"""HQ's side of sync (public schema; docs/sync.md).

Missions are named by their code (`missions.Mission.code`): sync sits below the missions app
and never imports it. Nothing here is read from a mission's schema: what HQ knows of a mission
arrived in a bundle.
"""

from __future__ import annotations

from django.db import models

from sync.models import KeyPurpose

MISSION_CODE_LENGTH = 30


class MissionKey(models.Model):
    """A mission's Ed25519 public key, registered when the mission (or its key) was created.
    A revoked key is refused from `revoked_at` on, whatever the bundle claims about its age."""

    mission = models.CharField(max_length=MISSION_CODE_LENGTH)
    key_id = models.PositiveIntegerField()
    public_key = models.BinaryField()
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["mission", "key_id"]
        constraints = [
            models.UniqueConstraint(fields=["mission", "key_id"], name="sync_hq_missionkey_unique")
        ]

    def __str__(self) -> str:
        return f"{self.mission} key {self.key_id}{' (revoked)' if self.revoked_at else ''}"


class HqKey(models.Model):
    """HQ's own keys: `sign` (Ed25519: reference data, acknowledgements) and `encrypt` (X25519:
    file bundles for HQ). The private key is wrapped under the master key (`sync.keys`)."""

    purpose = models.CharField(max_length=10, choices=KeyPurpose.choices)
    key_id = models.PositiveIntegerField()
    public_key = models.BinaryField()
    wrapped_private_key = models.BinaryField()
    created_at = models.DateTimeField()
    is_active = models.BooleanField(default=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["purpose", "key_id"]
        constraints = [
            models.UniqueConstraint(fields=["purpose", "key_id"], name="sync_hq_hqkey_unique"),
            models.UniqueConstraint(
                fields=["purpose"],
                condition=models.Q(is_active=True),
                name="sync_hq_hqkey_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"HQ {self.purpose} key {self.key_id}"


class MissionLink(models.Model):
    """Where HQ stands with one mission: the chain applied so far and the last contact."""

    mission = models.CharField(max_length=MISSION_CODE_LENGTH, unique=True)
    last_bundle_number = models.PositiveIntegerField(default=0)
    last_bundle_hash = models.CharField(max_length=64, blank=True)
    last_seq = models.BigIntegerField(default=0)  # the acknowledged high-water mark
    last_contact_at = models.DateTimeField(null=True, blank=True)
    last_bundle_created_at = models.DateTimeField(null=True, blank=True)
    reference_version_acked = models.PositiveIntegerField(default=0)
    last_reconciled_at = models.DateTimeField(null=True, blank=True)
    reconcile_differences = models.PositiveIntegerField(default=0)
    silent_alerted_at = models.DateTimeField(null=True, blank=True)
    # the `created_at` of the last `hello` frame HQ accepted from the mission's node
    # (`sync.down`): a hello is accepted once, and only if newer
    last_hello_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["mission"]

    def __str__(self) -> str:
        return f"{self.mission}: applied to #{self.last_seq}"


class CentralEvent(models.Model):
    """Every event applied at HQ, as the mission recorded it. Append-only; (mission, seq) is
    unique, so applying an event twice changes nothing."""

    id = models.BigAutoField(primary_key=True)
    mission = models.CharField(max_length=MISSION_CODE_LENGTH)
    seq = models.BigIntegerField()
    topic = models.CharField(max_length=100)
    aggregate_type = models.CharField(max_length=50)
    aggregate_id = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    version = models.PositiveSmallIntegerField(default=1)
    actor_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    bundle_number = models.PositiveIntegerField()
    applied_at = models.DateTimeField()

    class Meta:
        ordering = ["mission", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["mission", "seq"], name="sync_hq_event_unique_seq")
        ]
        indexes = [models.Index(fields=["mission", "occurred_at"], name="sync_hq_event_day")]

    def __str__(self) -> str:
        return f"{self.mission} #{self.seq} {self.topic}"


class HeldBundle(models.Model):
    """A verified bundle that arrived before the one it follows: kept until the gap is filled."""

    mission = models.CharField(max_length=MISSION_CODE_LENGTH)
    number = models.PositiveIntegerField()
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    data = models.BinaryField()
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["mission", "number"]
        constraints = [
            models.UniqueConstraint(fields=["mission", "number"], name="sync_hq_held_unique")
        ]

    def __str__(self) -> str:
        return f"{self.mission} bundle {self.number} held"


class RefusedBundle(models.Model):
    """A bundle refused whole, and why. Kept in its own transaction, so the refusal is
    recorded even though nothing of the bundle is applied."""

    received_at = models.DateTimeField()
    mission = models.CharField(max_length=MISSION_CODE_LENGTH, blank=True)  # as claimed
    number = models.PositiveIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=50)  # a sync error code (`sync.errors`)
    detail = models.CharField(max_length=500, blank=True)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    source = models.CharField(max_length=20, default="http")  # http, file

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["mission", "-received_at"], name="sync_hq_refused_recent")]

    def __str__(self) -> str:
        return f"{self.mission or '?'} bundle {self.number}: {self.reason}"


class ReferenceVersion(models.Model):
    """A signed version of HQ's reference data, as sent to every mission."""

    version = models.PositiveIntegerField(unique=True)
    created_at = models.DateTimeField()
    content_hash = models.CharField(max_length=64)
    data = models.BinaryField()  # the signed frame
    sets = models.JSONField(default=list)  # the reference sets it holds, by name

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"reference data v{self.version}"


class SkippedEvent(models.Model):
    """An event a register's projector could not project: its payload breaks its topic's
    contract (`sync.hq.projection`). The event stays in the central event log; the register
    leaves it out and says so here, with the reason, and the rest of the bundle is applied.
    One row per projector, mission and seq, so a replay records it once."""

    mission = models.CharField(max_length=MISSION_CODE_LENGTH)
    seq = models.BigIntegerField()  # 0 when the event's own seq was not a valid one
    topic = models.CharField(max_length=100)
    projector = models.CharField(max_length=100)  # its name in `sync.registry`
    reason = models.CharField(max_length=300)
    skipped_at = models.DateTimeField()

    class Meta:
        ordering = ["mission", "seq", "projector"]
        constraints = [
            models.UniqueConstraint(
                fields=["projector", "mission", "seq"], name="sync_hq_skipped_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.mission} #{self.seq} {self.topic} ({self.projector}): {self.reason}"
