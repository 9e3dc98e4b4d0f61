"""The frame and the file: what is signed is exactly what arrives, or it is refused."""

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from sync import bundle
from sync.bundle import (
    BundleError,
    SignedBundle,
    bundle_sign,
    canonical,
    file_pack,
    file_unpack,
)

SEED, PUBLIC = bundle.signing_key_generate()
OTHER_SEED, OTHER_PUBLIC = bundle.signing_key_generate()
HQ_PRIVATE, HQ_PUBLIC = bundle.agreement_key_generate()

CONTENT = {
    "header": {"format": bundle.FORMAT, "kind": "events", "mission": "alpha", "number": 1},
    "events": [{"seq": 1, "topic": "fees.payment.succeeded", "payload": {"amount": 1250}}],
}


def test_a_frame_reads_back_and_verifies():
    signed = bundle_sign(CONTENT, SEED)
    read = SignedBundle.from_bytes(signed.to_bytes())
    assert read.verify(PUBLIC)
    assert read.content == CONTENT
    assert read.hash == signed.hash == bundle.sha256_hex(read.body)


def test_the_body_is_canonical_json():
    signed = bundle_sign({"b": 1, "a": "ü", "c": [True, None]}, SEED)
    assert signed.body == '{"a":"ü","b":1,"c":[true,null]}'.encode()


def test_another_key_does_not_verify():
    assert not bundle_sign(CONTENT, SEED).verify(OTHER_PUBLIC)


def test_a_garbage_public_key_does_not_verify():
    assert not bundle_sign(CONTENT, SEED).verify(b"\x00" * 7)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_flipped_byte_fails_verification_or_reading(data):
    frame = bytearray(bundle_sign(CONTENT, SEED).to_bytes())
    position = data.draw(st.integers(0, len(frame) - 1))
    flip = data.draw(st.integers(1, 255))
    frame[position] ^= flip
    try:
        read = SignedBundle.from_bytes(bytes(frame))
    except BundleError:
        return
    assert not read.verify(PUBLIC)


def test_the_hash_is_of_the_body_alone():
    # two signatures of one body (Ed25519 is deterministic, so two keys) share the hash
    assert bundle_sign(CONTENT, SEED).hash == bundle_sign(CONTENT, OTHER_SEED).hash
    assert bundle_sign(CONTENT, SEED).hash == bundle.sha256_hex(bundle.canonical(CONTENT))


@pytest.mark.parametrize(
    "data",
    [b"", b"CSB1", b"CSB1\x00\x00\x00\x10{}", b"NOPE" + b"\x00" * 80, b"CSB1\xff\xff\xff\xff"],
)
def test_truncated_or_foreign_frames_are_refused(data):
    with pytest.raises(BundleError):
        SignedBundle.from_bytes(data)


def test_bytes_after_a_frame_are_refused():
    with pytest.raises(BundleError):
        SignedBundle.from_bytes(bundle_sign(CONTENT, SEED).to_bytes() + b"\x00")


def test_a_body_that_is_not_a_json_object_with_a_header_is_refused():
    for body in (b"\x00\x00", b"[1]", b'{"events": []}', b"[" * 100_000):
        signed = SignedBundle(body=body, signature=bundle.sign(body, SEED))
        with pytest.raises(BundleError):
            _ = signed.content


def test_a_file_holds_frames_in_order():
    frames = [bundle_sign({**CONTENT, "n": n}, SEED) for n in range(3)]
    read = file_unpack(file_pack(frames))
    assert [frame.content["n"] for frame in read] == [0, 1, 2]


def test_a_sealed_file_opens_only_with_hqs_key():
    frames = [bundle_sign(CONTENT, SEED)]
    sealed = file_pack(frames, recipient_key=HQ_PUBLIC, recipient_key_id=4)
    assert bundle.file_is_sealed(sealed)
    assert b"payment" not in sealed  # nothing readable on a lost USB stick
    opened = file_unpack(sealed, private_key_for=lambda key_id: HQ_PRIVATE if key_id == 4 else None)
    assert opened[0].body == frames[0].body
    with pytest.raises(BundleError):
        file_unpack(sealed)  # no key given
    with pytest.raises(BundleError):
        file_unpack(sealed, private_key_for=lambda key_id: None)  # an unknown key id
    other_private, _ = bundle.agreement_key_generate()
    with pytest.raises(BundleError):
        file_unpack(sealed, private_key_for=lambda key_id: other_private)


@pytest.mark.parametrize("position", [0, 5, 40, -1])
def test_one_flipped_byte_makes_a_sealed_file_unreadable(position):
    sealed = bytearray(file_pack([bundle_sign(CONTENT, SEED)], recipient_key=HQ_PUBLIC))
    sealed[position] ^= 1
    with pytest.raises(BundleError):
        file_unpack(bytes(sealed), private_key_for=lambda key_id: HQ_PRIVATE)


def test_two_sealings_of_the_same_file_differ():
    frames = [bundle_sign(CONTENT, SEED)]
    assert file_pack(frames, recipient_key=HQ_PUBLIC) != file_pack(frames, recipient_key=HQ_PUBLIC)


# --- canonical JSON, fast ----------------------------------------------------------------------

_json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=8),
)
_json_values = st.recursive(
    _json_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=4),
            children,
            max_size=4,
        ),
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_json_values)
def test_the_fast_canonical_writer_is_rfc_8785_byte_for_byte(value):
    # whatever the value, the fast writer gives rfc8785's bytes, or fails as it does
    try:
        expected = rfc8785.dumps(value)
    except Exception as error:  # rfc8785 refuses integers beyond 2^53 and the like
        with pytest.raises(type(error)):
            canonical(value)
        return
    assert canonical(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"\ue000": 1, "\U0001f600": 2, "a": 3},  # UTF-16 order differs from code points here
        {"control": "\x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f\u2028", "q": '"\\/'},
        {"n": 2**53 - 1, "m": -(2**53 - 1), "b": [True, False, None]},
        {"f": 1.0, "g": 1e21, "h": 5e-324, "i": -0.0},
    ],
)
def test_the_fast_canonical_writer_on_the_awkward_cases(value):
    assert canonical(value) == rfc8785.dumps(value)
