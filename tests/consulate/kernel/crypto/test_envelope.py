import base64
import secrets

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consulate.kernel.actors import SYSTEM
from consulate.kernel.crypto import envelope
from consulate.kernel.crypto.envelope import DecryptionError, EncryptionError, decrypt, encrypt
from consulate.kernel.crypto.keys import unwrap
from consulate.kernel.crypto.models import DataKey
from consulate.kernel.crypto.services import data_key_create, data_key_rotate

CONTEXT = "crypto_app.Dossier.passport_number"


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text())
def test_any_text_survives_a_round_trip(in_mission_a, text):
    # given any text, unicode and control characters included
    schema = in_mission_a.schema_name
    # when it is encrypted and decrypted
    blob = encrypt(text, schema_name=schema, context=CONTEXT)
    # then the same text comes back, and the blob does not hold it
    assert decrypt(blob, schema_name=schema, context=CONTEXT) == text
    assert len(blob) == envelope.HEADER_BYTES + len(text.encode())
    if len(text) >= 4:
        assert text.encode() not in blob


def test_blob_header_names_version_and_key(in_mission_a):
    # given the mission's active key
    active = DataKey.objects.get(schema_name=in_mission_a.schema_name, is_active=True)
    # when a value is encrypted twice
    first = encrypt("X", schema_name=in_mission_a.schema_name, context=CONTEXT)
    second = encrypt("X", schema_name=in_mission_a.schema_name, context=CONTEXT)
    # then each starts with the version and key id, and a fresh nonce makes them differ
    assert first[0] == envelope.VERSION
    assert int.from_bytes(first[1:5], "big") == active.key_id == envelope.key_id_of(first)
    assert first != second


@pytest.mark.parametrize(
    "position",
    [0, 1, 4, 5, 16, 17, 32, 33, -1],
    ids=["version", "key-id-high", "key-id-low", "nonce", "nonce-end", "tag", "tag-end",
         "ciphertext", "last"],
)  # fmt: skip
def test_flipping_any_byte_is_refused(in_mission_a, position):
    # given a blob
    blob = bytearray(encrypt("U1234567", schema_name=in_mission_a.schema_name, context=CONTEXT))
    # when one bit of one byte is flipped
    blob[position] ^= 0x01
    # then decryption refuses it
    with pytest.raises(DecryptionError):
        decrypt(bytes(blob), schema_name=in_mission_a.schema_name, context=CONTEXT)


@pytest.mark.parametrize("length", [0, 1, 5, envelope.HEADER_BYTES - 1])
def test_truncated_blobs_are_refused(in_mission_a, length):
    blob = encrypt("U1234567", schema_name=in_mission_a.schema_name, context=CONTEXT)
    with pytest.raises(DecryptionError):
        decrypt(blob[:length], schema_name=in_mission_a.schema_name, context=CONTEXT)


def test_dropping_the_last_byte_is_refused(in_mission_a):
    blob = encrypt("U1234567", schema_name=in_mission_a.schema_name, context=CONTEXT)
    with pytest.raises(DecryptionError):
        decrypt(blob[:-1], schema_name=in_mission_a.schema_name, context=CONTEXT)


def test_a_blob_is_bound_to_its_context(in_mission_a):
    # given a passport number's blob
    blob = encrypt("U1234567", schema_name=in_mission_a.schema_name, context=CONTEXT)
    # when it is read as another field, or as the same field of another model
    for other in (
        "crypto_app.Dossier.place_of_birth",
        "crypto_app.HistoricalDossier.passport_number",
    ):
        # then it is refused
        with pytest.raises(DecryptionError):
            decrypt(blob, schema_name=in_mission_a.schema_name, context=other)


def test_a_blob_is_bound_to_its_mission(in_mission_a, mission_b):
    # given a blob of mission A; both missions have a key with the same id
    blob = encrypt("U1234567", schema_name=in_mission_a.schema_name, context=CONTEXT)
    # when mission B tries to read it
    # then it is refused
    with pytest.raises(DecryptionError):
        decrypt(blob, schema_name=mission_b.schema_name, context=CONTEXT)


def test_a_blob_naming_a_key_the_mission_lacks_is_refused(in_mission_a):
    blob = bytearray(encrypt("U1", schema_name=in_mission_a.schema_name, context=CONTEXT))
    blob[1:5] = (999_999).to_bytes(4, "big")
    with pytest.raises(DecryptionError, match="no data key"):
        decrypt(bytes(blob), schema_name=in_mission_a.schema_name, context=CONTEXT)


def test_the_public_schema_key_is_its_own(in_mission_a):
    # given a value under the public schema's key (the shared tables': accounts' names)
    context = "accounts.User.first_name"
    blob = encrypt("Ayşe", schema_name="public", context=context)
    # then it reads back there, and never as a mission's value
    assert decrypt(blob, schema_name="public", context=context) == "Ayşe"
    with pytest.raises(DecryptionError):
        decrypt(blob, schema_name=in_mission_a.schema_name, context=context)


def test_encryption_without_a_schema_is_refused(db):
    with pytest.raises(EncryptionError):
        encrypt("U1234567", schema_name="", context=CONTEXT)
    with pytest.raises(EncryptionError):
        decrypt(b"\x01" * 40, schema_name="", context=CONTEXT)


def test_a_schema_without_key_cannot_encrypt(db):
    with pytest.raises(EncryptionError, match="no active data key"):
        encrypt("U1234567", schema_name="mission_template", context=CONTEXT)


def test_a_wrong_master_key_fails_to_unwrap(in_mission_a, settings):
    # given a blob and the mission's wrapped key
    blob = encrypt("U1234567", schema_name=in_mission_a.schema_name, context=CONTEXT)
    data_key = DataKey.objects.get(schema_name=in_mission_a.schema_name, is_active=True)
    # when the master key is another one
    settings.CONSULATE_MASTER_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
    envelope.clear_key_cache()
    # then the data key does not unwrap, and the blob does not decrypt
    with pytest.raises(ValueError, match="MAC check failed"):
        unwrap(
            bytes(data_key.wrapped_key),
            schema_name=data_key.schema_name,
            key_id=data_key.key_id,
        )
    with pytest.raises(DecryptionError, match="wrong master key"):
        decrypt(blob, schema_name=in_mission_a.schema_name, context=CONTEXT)


def test_a_wrapped_key_is_bound_to_its_mission_and_id(in_mission_a, mission_b):
    data_key = DataKey.objects.get(schema_name=in_mission_a.schema_name, is_active=True)
    for schema_name, key_id in ((mission_b.schema_name, data_key.key_id),
                                (data_key.schema_name, data_key.key_id + 1)):  # fmt: skip
        with pytest.raises(ValueError, match="MAC check failed"):
            unwrap(bytes(data_key.wrapped_key), schema_name=schema_name, key_id=key_id)


def test_a_rolled_back_rotation_does_not_poison_the_key_cache(throwaway_mission):
    # given a rotation whose transaction is rolled back after a write under its new key,
    # in a process that caches keys
    schema = throwaway_mission.schema_name
    rotated: list[int] = []

    def rotate_write_and_fail() -> None:
        with transaction.atomic():
            rotated.append(data_key_rotate(schema_name=schema, acting_user=SYSTEM).key_id)
            encrypt("U1", schema_name=schema, context=CONTEXT)
            raise RuntimeError("rollback")

    with pytest.raises(RuntimeError):
        rotate_write_and_fail()
    # when another process's rotation (which cannot clear this process's cache) takes the same
    # key id with another key
    again = data_key_create(schema_name=schema, acting_user=SYSTEM)
    assert [again.key_id] == rotated
    blob = encrypt("U2", schema_name=schema, context=CONTEXT)
    # then what this process writes is readable with the stored key (as another process sees it)
    envelope.clear_key_cache()
    assert decrypt(blob, schema_name=schema, context=CONTEXT) == "U2"


def test_blobs_written_before_the_switch_to_openssl_still_open(in_mission_a):
    # given a field and a wrapped key sealed as pycryptodome sealed them (before cryptography)
    from Crypto.Cipher import AES

    from consulate.kernel.crypto.keys import _wrap_context, master_key, wrap

    schema = in_mission_a.schema_name
    key_id, key = envelope._active_key(schema)
    prefix = envelope._PREFIX.pack(envelope.VERSION, key_id)
    nonce = secrets.token_bytes(12)
    old = AES.new(key, AES.MODE_GCM, nonce=nonce)
    old.update(envelope._associated_data(prefix, schema, CONTEXT))
    ciphertext, tag = old.encrypt_and_digest("Ayşe Yılmaz".encode())
    data_key = secrets.token_bytes(32)
    old_wrap = AES.new(master_key(), AES.MODE_GCM, nonce=nonce)
    old_wrap.update(_wrap_context(schema, 7))
    wrapped_ciphertext, wrapped_tag = old_wrap.encrypt_and_digest(data_key)
    # when they are opened now, then they read as written
    assert decrypt(prefix + nonce + tag + ciphertext, schema_name=schema, context=CONTEXT) == (
        "Ayşe Yılmaz"
    )
    assert (
        unwrap(nonce + wrapped_tag + wrapped_ciphertext, schema_name=schema, key_id=7) == data_key
    )
    # and what is sealed now opens the old way too (the format is AES-256-GCM, unchanged)
    blob = encrypt("Ayşe", schema_name=schema, context=CONTEXT)
    header = envelope.HEADER_BYTES
    check = AES.new(key, AES.MODE_GCM, nonce=blob[5:17])
    check.update(envelope._associated_data(blob[:5], schema, CONTEXT))
    assert check.decrypt_and_verify(blob[header:], blob[17:header]).decode() == "Ayşe"
    rewrapped = wrap(data_key, schema_name=schema, key_id=7)
    check = AES.new(master_key(), AES.MODE_GCM, nonce=rewrapped[:12])
    check.update(_wrap_context(schema, 7))
    assert check.decrypt_and_verify(rewrapped[28:], rewrapped[12:28]) == data_key
    # and a flipped byte still refuses
    with pytest.raises(DecryptionError):
        decrypt(blob[:-1] + bytes([blob[-1] ^ 1]), schema_name=schema, context=CONTEXT)
    with pytest.raises(ValueError, match="MAC check failed"):
        unwrap(rewrapped[:-1] + bytes([rewrapped[-1] ^ 1]), schema_name=schema, key_id=7)
