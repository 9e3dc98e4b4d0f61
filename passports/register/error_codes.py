"""Error codes of HQ's travel document registers and the seals' keys (`passports.<code>`)."""

import enum


class SealKeyError(enum.Enum):
    NO_SIGNER = "passports.seal.no_signer"  # the mission has no active document signer
    NO_ROOT = "passports.seal.no_root"  # HQ has no seal root yet
    SIGNER_UNKNOWN = "passports.seal.signer_unknown"  # no such certificate of this mission
    ALREADY_REVOKED = "passports.seal.already_revoked"
    CODES_EXHAUSTED = "passports.seal.codes_exhausted"  # all 1296 signer codes are taken
    REASON_REQUIRED = "passports.seal.reason_required"
    BAD_INPUT = "passports.seal.bad_input"  # nothing to verify, or too much of it
