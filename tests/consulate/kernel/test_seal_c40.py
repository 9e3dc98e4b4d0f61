"""C40 as Doc 9303 Part 13 writes it: triples in two bytes, a Shift 1 pad for two characters
left over, 0xFE and ASCII + 1 for one; and a decoder that takes nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consulate.kernel.seal import SealError, SealErrorCode, c40_decode, c40_encode
from consulate.kernel.seal.c40 import BASIC_SET, c40_length

# Published vectors: the C40 test of vdstools (BSI's reference library, "DETS32") and the
# headers of the specimen seals in its tests ("UTO"; Germany's "D<<"; the signer "UTTS" with
# its reference "5B" behind the length "02").
VECTORS = [
    ("DETS32", "6d32c91f"),
    ("UTO", "d9c5"),
    ("UTTS025B", "d9cac8a73a99"),  # two left over: "5B" + Shift 1
    ("D  ", "6abc"),  # Germany's "D<<", fillers as spaces
    ("ABCD", "59e9fe45"),  # one left over: 0xFE, "D" (0x44) + 1
    ("", ""),
]


@pytest.mark.parametrize(("text", "encoded"), VECTORS)
def test_published_vectors_encode_and_decode(text, encoded):
    # given a string and its C40 bytes
    # when it is encoded, and the bytes decoded
    # then each gives the other
    assert c40_encode(text).hex() == encoded
    assert c40_decode(bytes.fromhex(encoded)) == text


def test_the_triple_formula():
    # given "ZZZ", the largest triple: 1600·39 + 40·39 + 39 + 1 = 64000
    # when it is encoded
    # then it is that value, most significant byte first
    assert c40_encode("ZZZ") == (64000).to_bytes(2, "big")
    assert c40_encode("   ") == (1600 * 3 + 40 * 3 + 3 + 1).to_bytes(2, "big")


@given(st.text(alphabet=BASIC_SET, max_size=120))
def test_any_basic_set_text_survives_a_round_trip(text):
    encoded = c40_encode(text)
    assert len(encoded) == c40_length(len(text))
    assert c40_decode(encoded) == text


@given(st.binary(max_size=40))
def test_decoding_any_bytes_answers_text_or_a_seal_error_and_is_canonical(data):
    # given any bytes
    # when they are decoded
    try:
        text = c40_decode(data)
    except SealError as error:
        code = error.code
    else:
        code = None
    # then either they are refused with the one error type, or they are exactly what the
    # encoder writes for that text
    if code is None:
        assert c40_encode(text) == data
    else:
        assert code is SealErrorCode.BAD_TEXT


@pytest.mark.parametrize(
    "text", ["abc", "A<B", "Ä", "A-B", "\x00", "A\nB"], ids=repr
)  # fmt: skip
def test_characters_outside_the_basic_set_are_refused(text):
    with pytest.raises(SealError) as caught:
        c40_encode(text)
    assert caught.value.code is SealErrorCode.UNENCODABLE


@pytest.mark.parametrize(
    "data",
    [
        "d9",  # odd length
        "fe45d9c5",  # an unlatch before the last pair
        "fe00",  # unlatch of nothing
        "fe3e",  # unlatch of "=", not in the basic set
        "fe62",  # unlatch of "a"
        "0001",  # Shift 1, Shift 1, Shift 1 in place of letters
        "fa01",  # above "ZZZ"
        "ffff",
        "0641d9c5",  # "A" + Shift 1 pad, then more: padding only at the end
        "57b7",  # "A", Shift 2 (value 1), "A": shifts are not in Part 13's C40
    ],
)
def test_what_the_encoder_never_writes_is_refused(data):
    with pytest.raises(SealError) as caught:
        c40_decode(bytes.fromhex(data))
    assert caught.value.code is SealErrorCode.BAD_TEXT
