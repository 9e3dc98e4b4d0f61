"""Data keys, wrapped by the master key (envelope encryption): one set per mission schema, and
one for the public schema's own shared tables (accounts), created by the migration.

The table lives in the public schema so that HQ can rotate any mission's key; a wrapped key is
useless without the master key, which never touches the database. History records who created
and retired each key (never the wrapped key itself).
"""

from django.db import models

from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel


class DataKey(TimeStampedModel):
    schema_name = models.CharField(max_length=63, db_index=True)
    key_id = models.PositiveIntegerField()
    # nonce (12) || tag (16) || AES-256-GCM(master key, data key), bound to schema and key id.
    wrapped_key = models.BinaryField()
    is_active = models.BooleanField(default=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    history = history_records(excluded_fields=["wrapped_key"])

    class Meta:
        ordering = ["schema_name", "key_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["schema_name", "key_id"], name="crypto_datakey_unique_id"
            ),
            models.UniqueConstraint(
                fields=["schema_name"],
                condition=models.Q(is_active=True),
                name="crypto_datakey_one_active_per_schema",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schema_name} key {self.key_id}{' (active)' if self.is_active else ''}"
