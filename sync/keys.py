"""Sync's keys: each mission's Ed25519 signing keys, HQ's signing and encryption keys.

Private keys are wrapped under the master key (AES-256-GCM), bound to whose key it is and its
id, as the data keys are (`consulate.kernel.crypto`); the database never holds one in clear.

- A mission's keys live in its own schema (`sync.models.SigningKey`); HQ holds the public
  halves (`sync.hq.models.MissionKey`), registered when the mission is created
  (`mission_keys_set_up`) and when a key rotates (the rotation is an outbox event, signed by
  the key before it, so it reaches HQ the way everything else does).
- A revoked key (a stolen laptop) is refused by HQ from its revocation time on; the mission
  then needs a new key registered by an HQ admin (`manage.py sync_key`).
- HQ's keys live in the public schema (`sync.hq.models.HqKey`); a mission holds their public
  halves as `sync.models.TrustedKey`, copied when it is set up.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from consulate.kernel.crypto.keys import NONCE_BYTES, TAG_BYTES, gcm_open, gcm_seal, master_key

from . import bundle
from .events import SyncTopic
from .hq.models import HqKey, MissionKey
from .models import KeyPurpose, SigningKey, TrustedKey


def _wrap(private: bytes, *, context: str) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    tag, ciphertext = gcm_seal(
        master_key(), nonce=nonce, plaintext=private,
        associated=f"consulate-sync-key|{context}".encode(),
    )  # fmt: skip
    return nonce + tag + ciphertext


def _unwrap(wrapped: bytes, *, context: str) -> bytes:
    wrapped = bytes(wrapped)
    nonce, tag = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES : NONCE_BYTES + TAG_BYTES]
    return gcm_open(
        master_key(), nonce=nonce, tag=tag, ciphertext=wrapped[NONCE_BYTES + TAG_BYTES :],
        associated=f"consulate-sync-key|{context}".encode(),
    )  # fmt: skip


def mission_code() -> str:
    """The code of the mission whose schema the connection is on."""
    code = getattr(getattr(connection, "tenant", None), "code", "")
    if not code or getattr(connection, "schema_name", "public") == "public":
        raise RuntimeError("sync's mission side runs in a mission's schema")
    return str(code)


# --- A mission's own keys (run in its schema) --------------------------------------------------


@dataclass(frozen=True)
class ActiveKey:
    key_id: int
    private_seed: bytes
    public_key: bytes


def signing_key_create(*, code: str) -> SigningKey:
    """A new active signing key for this mission (the current schema); the old one is retired
    (HQ keeps accepting it until revoked). Run inside the caller's transaction."""
    now = timezone.now()
    with transaction.atomic():
        last = SigningKey.objects.select_for_update().order_by("-key_id").first()
        key_id = (last.key_id if last else 0) + 1
        SigningKey.objects.filter(is_active=True).update(is_active=False, retired_at=now)
        private, public = bundle.signing_key_generate()
        return SigningKey.objects.create(
            key_id=key_id,
            public_key=public,
            wrapped_private_key=_wrap(private, context=f"mission|{code}|{key_id}"),
            created_at=now,
        )


def signing_key_active(*, code: str) -> ActiveKey:
    row = SigningKey.objects.filter(is_active=True).first()
    if row is None:
        raise LookupError(f"mission {code} has no signing key")
    private = _unwrap(bytes(row.wrapped_private_key), context=f"mission|{code}|{row.key_id}")
    return ActiveKey(key_id=row.key_id, private_seed=private, public_key=bytes(row.public_key))


def signing_key_private(*, code: str, key: SigningKey) -> bytes:
    """The private half of one of this mission's keys, active or not (a bundle that announces a
    rotation is signed by the key before the new one)."""
    return _unwrap(bytes(key.wrapped_private_key), context=f"mission|{code}|{key.key_id}")


def signing_key_rotate(*, code: str, acting_user: Any) -> SigningKey:
    """Rotate this mission's key. The new public key goes to HQ as an outbox event; the bundle
    carrying it is signed by the old key, so HQ can trust it."""
    from .services import outbox_event_record

    with transaction.atomic():
        key = signing_key_create(code=code)
        outbox_event_record(
            topic=SyncTopic.SIGNING_KEY_ROTATED,
            aggregate_id=key.pk,
            payload={"key_id": key.key_id, "public_key": bytes(key.public_key).hex()},
            acting_user=acting_user,
        )
    return key


def trusted_keys_store(keys: list[dict[str, Any]]) -> int:
    """Store HQ's public keys (`hq_public_keys()` entries) in this mission's schema; returns how
    many were new. A revocation HQ announces is copied too."""
    added = 0
    for key in keys:
        _, created = TrustedKey.objects.update_or_create(
            purpose=key["purpose"],
            key_id=key["key_id"],
            defaults={
                "public_key": bytes.fromhex(key["public_key"]),
                "created_at": key["created_at"],
                "revoked_at": key.get("revoked_at"),
            },
        )
        added += created
    return added


MAX_KEY_ID = 2**31 - 1


def _key_id_valid(key_id: Any) -> bool:
    return isinstance(key_id, int) and not isinstance(key_id, bool) and 0 < key_id <= MAX_KEY_ID


def trusted_key(*, purpose: str, key_id: Any = None) -> TrustedKey | None:
    """HQ's key with that id (or its newest), unless revoked. `key_id` is often read from a
    frame's header before its signature is checked: anything but an int in range (a string,
    a bool, a float, a huge number) is no key, never a query that fails."""
    if key_id is not None and not _key_id_valid(key_id):
        return None
    keys = TrustedKey.objects.filter(purpose=purpose, revoked_at__isnull=True)
    if key_id is not None:
        keys = keys.filter(key_id=key_id)
    return keys.order_by("-key_id").first()


# --- HQ (public schema) -------------------------------------------------------------------------


def mission_key_register(
    *, mission: str, key_id: int, public_key: bytes, created_at: Any = None
) -> MissionKey:
    """HQ learns a mission's public key. Registering the same key again changes nothing; a
    different key under a known id is refused (ValueError): ids are never reused."""
    key, created = MissionKey.objects.get_or_create(
        mission=mission,
        key_id=key_id,
        defaults={"public_key": bytes(public_key), "created_at": created_at or timezone.now()},
    )
    if not created and bytes(key.public_key) != bytes(public_key):
        raise ValueError(f"{mission} key {key_id} is registered with another public key")
    return key


def mission_key_revoke(*, mission: str, key_id: int, reason: str, at: Any = None) -> list[int]:
    """Refuse a mission's key from `at` (default now) on, and with it every key of the mission
    not revoked yet that HQ learned after it: a higher id, or registered at or after `at`. A
    thief holding the key may have announced keys of his own (a rotation event signed by the
    stolen key, dated as he pleases) before HQ heard of the theft; they go too. The mission's
    new key is registered by hand (`sync_key register`). Returns the ids revoked, the named
    key's first; none (and nothing changed) if it was revoked already."""
    at = at or timezone.now()
    reason = reason[:200]
    with transaction.atomic():
        held = list(
            MissionKey.objects.select_for_update().filter(mission=mission).order_by("key_id")
        )
        named = next((key for key in held if key.key_id == key_id), None)
        if named is None or named.revoked_at is not None:
            return []
        revoked = [key_id]
        named.revoked_at, named.revoked_reason = at, reason
        named.save(update_fields=["revoked_at", "revoked_reason"])
        for key in held:
            if key.revoked_at is None and (key.key_id > key_id or key.created_at >= at):
                key.revoked_at = at
                key.revoked_reason = f"after key {key_id}: {reason}"[:200]
                key.save(update_fields=["revoked_at", "revoked_reason"])
                revoked.append(key.key_id)
    return revoked


def mission_key_public(*, mission: str, key_id: int) -> MissionKey | None:
    return MissionKey.objects.filter(mission=mission, key_id=key_id).first()


def hq_key_ensure(purpose: str) -> HqKey:
    """HQ's active key for `purpose` (`KeyPurpose`), created the first time it is needed."""
    existing = HqKey.objects.filter(purpose=purpose, is_active=True).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        connection.cursor().execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"hqkey:{purpose}"]
        )
        existing = HqKey.objects.filter(purpose=purpose, is_active=True).first()
        if existing is not None:
            return existing
        generate = (
            bundle.signing_key_generate
            if purpose == KeyPurpose.SIGN
            else bundle.agreement_key_generate
        )
        private, public = generate()
        key_id = (HqKey.objects.filter(purpose=purpose).count()) + 1
        return HqKey.objects.create(
            purpose=purpose,
            key_id=key_id,
            public_key=public,
            wrapped_private_key=_wrap(private, context=f"hq|{purpose}|{key_id}"),
            created_at=timezone.now(),
        )


def hq_key_private(key: HqKey) -> bytes:
    return _unwrap(bytes(key.wrapped_private_key), context=f"hq|{key.purpose}|{key.key_id}")


def hq_encryption_private_key(key_id: int) -> bytes | None:
    key = HqKey.objects.filter(
        purpose=KeyPurpose.ENCRYPT, key_id=key_id, revoked_at__isnull=True
    ).first()
    return hq_key_private(key) if key else None


def hq_public_keys() -> list[dict[str, Any]]:
    """HQ's public keys, for a mission's `trusted_keys_store` (JSON-ready)."""
    for purpose in KeyPurpose.values:
        hq_key_ensure(purpose)
    return [
        {
            "purpose": key.purpose,
            "key_id": key.key_id,
            "public_key": bytes(key.public_key).hex(),
            "created_at": key.created_at.isoformat(),
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        }
        for key in HqKey.objects.order_by("purpose", "key_id")
    ]


def mission_keys_set_up(*, code: str, schema_name: str) -> SigningKey:
    """When a mission is created in HQ's database: its first signing key (in its schema), the
    public half registered at HQ, and HQ's public keys copied into its schema. Run from the
    public schema, inside the creating transaction. Idempotent: a mission that has a key keeps
    it (missions created before sync get theirs from `migrate_all` or the first push)."""
    from django_tenants.utils import schema_context

    keys = hq_public_keys()
    with schema_context(schema_name):
        key = SigningKey.objects.filter(is_active=True).first() or signing_key_create(code=code)
        trusted_keys_store(keys)
    mission_key_register(
        mission=code, key_id=key.key_id, public_key=bytes(key.public_key), created_at=key.created_at
    )
    return key
