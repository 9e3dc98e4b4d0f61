"""The one error the seal library raises: a code a program acts on, a message a person reads."""

from __future__ import annotations

import enum
from typing import Any

from consulate.kernel.errors import ApplicationError


class SealErrorCode(enum.Enum):
    TOO_LARGE = "seal.too_large"
    NOT_A_SEAL = "seal.not_a_seal"
    UNSUPPORTED_VERSION = "seal.unsupported_version"
    MALFORMED = "seal.malformed"
    BAD_TEXT = "seal.bad_text"
    BAD_DATE = "seal.bad_date"
    BAD_CONTENT = "seal.bad_content"
    UNENCODABLE = "seal.unencodable"
    BAD_KEY = "seal.bad_key"
    BAD_CERTIFICATE = "seal.bad_certificate"
    BAD_TRUST = "seal.bad_trust"
    NO_BARCODE = "seal.no_barcode"


class SealError(ApplicationError):
    """Anything wrong with a seal, its data, a trust bundle or a picture of a seal.

    Decoding and reading raise only this, whatever the input (truncated, padded, a
    picture of a cat), so a verifying page or command has one thing to catch."""

    def __init__(self, code: SealErrorCode, message: Any) -> None:
        super().__init__(code, message)
