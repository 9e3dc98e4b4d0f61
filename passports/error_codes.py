"""The passports app's error codes (`passports.<code>`). Not found, not allowed and a move the
workflow forbids use `CommonError`."""

import enum


class PassportError(enum.Enum):
    INVALID = "passports.invalid"
    INCOMPLETE = "passports.incomplete"
    PHOTO_REFUSED = "passports.photo_refused"
    ALREADY_OPEN = "passports.already_open"
    NOT_PAID = "passports.not_paid"
    NO_VISIT_SERVICE = "passports.no_visit_service"
    FINGERPRINT_QUALITY = "passports.fingerprint_quality"
    FOUR_EYES = "passports.four_eyes"
    REASON_REQUIRED = "passports.reason_required"
    DOCUMENT_REPORTED = "passports.document_reported"
    NO_NUMBERS = "passports.no_numbers"
    # a block of passport numbers over numbers another block holds
    BLOCK_OVERLAP = "passports.block_overlap"
    SEALED_UNREADABLE = "passports.sealed_unreadable"
    # HQ holds a case: the same person has a passport printed and not yet handed over
    HELD_SAME_PERSON = "passports.held_same_person"
    ETD_NO_NUMBERS = "passports.etd_no_numbers"
    ETD_NO_SIGNER = "passports.etd_no_signer"
    ETD_BLOCK_OVERLAP = "passports.etd_block_overlap"
