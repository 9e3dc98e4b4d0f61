"""Signing keys: wrapped under the master key, registered at HQ, rotated through the outbox."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings

from consulate.kernel.actors import SYSTEM
from sync import bundle, keys
from sync.hq.models import HqKey, MissionKey
from sync.models import KeyPurpose, OutboxEvent, SigningKey, TrustedKey


def test_a_new_mission_has_a_key_registered_at_hq_and_trusts_hqs_keys(in_mission_a):
    key = SigningKey.objects.get(is_active=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT public_key FROM public.sync_hq_missionkey WHERE mission = %s AND key_id = %s",
            ["alpha", key.key_id],
        )
        (registered,) = cursor.fetchone()
    assert bytes(registered) == bytes(key.public_key)
    assert set(TrustedKey.objects.values_list("purpose", flat=True)) == set(KeyPurpose.values)


def test_the_private_key_is_never_stored_in_clear(in_mission_a):
    active = keys.signing_key_active(code="alpha")
    row = SigningKey.objects.get(is_active=True)
    assert active.private_seed not in bytes(row.wrapped_private_key)
    # and it is the private half of the registered public key
    signed = bundle.bundle_sign({"header": {}}, active.private_seed)
    assert signed.verify(bytes(row.public_key))


def test_a_wrapped_key_does_not_unwrap_as_another_missions(in_mission_a):
    with pytest.raises(ValueError, match="MAC check failed"):
        keys.signing_key_active(code="beta")  # bound to alpha's code


def test_a_wrapped_key_does_not_unwrap_under_another_master_key(in_mission_a):
    with (
        override_settings(CONSULATE_MASTER_KEY="A" * 43 + "="),
        pytest.raises(ValueError, match="MAC check failed"),
    ):
        keys.signing_key_active(code="alpha")


def test_rotation_announces_the_new_key_in_the_outbox(in_mission_a):
    old = keys.signing_key_active(code="alpha")
    with transaction.atomic():
        new = keys.signing_key_rotate(code="alpha", acting_user=SYSTEM)
    assert new.key_id == old.key_id + 1
    assert keys.signing_key_active(code="alpha").key_id == new.key_id
    event = OutboxEvent.objects.order_by("-seq").first()
    assert event.topic == "sync.signing_key.rotated"
    assert event.payload == {"key_id": new.key_id, "public_key": bytes(new.public_key).hex()}
    assert SigningKey.objects.filter(is_active=True).count() == 1


def test_two_active_keys_are_refused_by_the_database(in_mission_a):
    key = SigningKey.objects.get(is_active=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        SigningKey.objects.create(
            key_id=key.key_id + 10, public_key=b"x", wrapped_private_key=b"x",
            created_at=key.created_at,
        )  # fmt: skip


def test_registering_another_public_key_under_a_known_id_is_refused(db):
    key = MissionKey.objects.filter(mission="alpha").first()
    with pytest.raises(ValueError, match="another public key"):
        keys.mission_key_register(mission="alpha", key_id=key.key_id, public_key=b"\x01" * 32)
    same = keys.mission_key_register(
        mission="alpha", key_id=key.key_id, public_key=bytes(key.public_key)
    )
    assert same.pk == key.pk


def test_revocation_stamps_the_time_once(db):
    key = MissionKey.objects.filter(mission="alpha").first()
    assert keys.mission_key_revoke(mission="alpha", key_id=key.key_id, reason="stolen") == [
        key.key_id
    ]
    assert keys.mission_key_revoke(mission="alpha", key_id=key.key_id, reason="again") == []
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert key.revoked_reason == "stolen"


def test_hq_has_one_active_key_per_purpose_and_it_unwraps(db):
    for purpose in KeyPurpose.values:
        key = keys.hq_key_ensure(purpose)
        assert keys.hq_key_ensure(purpose).pk == key.pk
        assert len(keys.hq_key_private(key)) == 32
    assert HqKey.objects.filter(is_active=True).count() == len(KeyPurpose.values)
    encrypt = keys.hq_key_ensure(KeyPurpose.ENCRYPT)
    assert keys.hq_encryption_private_key(encrypt.key_id) == keys.hq_key_private(encrypt)
    assert keys.hq_encryption_private_key(encrypt.key_id + 99) is None


@pytest.mark.parametrize("key_id", ["x", "1", 1.0, True, [1], {"a": 1}, 2**70, 0])
def test_a_key_id_from_a_header_that_is_not_a_key_id_finds_no_key(in_mission_a, key_id):
    # a header's key_id is read before the signature is checked: never a failing query
    assert keys.trusted_key(purpose=KeyPurpose.SIGN, key_id=key_id) is None
    assert keys.trusted_key(purpose=KeyPurpose.SIGN, key_id=1) is not None


def test_revoking_a_stolen_key_revokes_the_keys_it_announced(db):
    # given alpha's key 1, stolen at 08:00; the thief announced key 2 (a rotation signed by the
    # stolen key, dated before the theft) and key 3 before HQ heard of it
    from datetime import UTC, datetime

    theft = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    for key_id, created in ((2, datetime(2026, 1, 1, tzinfo=UTC)), (3, theft)):
        keys.mission_key_register(
            mission="alpha", key_id=key_id, public_key=bytes([key_id]) * 32, created_at=created
        )
    beta_before = list(MissionKey.objects.filter(mission="beta").values_list("revoked_at"))
    # when HQ revokes key 1 from the theft on
    revoked = keys.mission_key_revoke(mission="alpha", key_id=1, reason="stolen", at=theft)
    # then the keys it announced are refused too, from the same time; nobody else's
    assert revoked == [1, 2, 3]
    for key in MissionKey.objects.filter(mission="alpha"):
        assert key.revoked_at == theft
    assert "stolen" in MissionKey.objects.get(mission="alpha", key_id=2).revoked_reason
    assert list(MissionKey.objects.filter(mission="beta").values_list("revoked_at")) == (
        beta_before
    )
    # and the mission's new key, registered by hand afterwards, stays trusted on a second run
    keys.mission_key_register(mission="alpha", key_id=4, public_key=b"\x04" * 32)
    assert keys.mission_key_revoke(mission="alpha", key_id=1, reason="again", at=theft) == []
    assert MissionKey.objects.get(mission="alpha", key_id=4).revoked_at is None
