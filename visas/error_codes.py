"""The visas app's error codes (`visas.<code>`). Not found, not allowed and a move the workflow
forbids use `CommonError`."""

import enum


class VisaError(enum.Enum):
    INVALID = "visas.invalid"
    INCOMPLETE = "visas.incomplete"
    NO_CATEGORY = "visas.no_category"
    UPLOAD_REFUSED = "visas.upload_refused"
    ALREADY_OPEN = "visas.already_open"
    NOT_COMPLETE = "visas.not_complete"
    NOT_PAID = "visas.not_paid"
    NO_VISIT_SERVICE = "visas.no_visit_service"
    NOT_SCREENED = "visas.not_screened"
    HITS_OPEN = "visas.hits_open"
    FOUR_EYES = "visas.four_eyes"
    FINGERPRINT_QUALITY = "visas.fingerprint_quality"
    GROUNDS_REQUIRED = "visas.grounds_required"
    REASON_REQUIRED = "visas.reason_required"
    DEADLINE = "visas.deadline"
    # during corrections: a change to what the officer did not ask to correct
    NOT_ASKED = "visas.not_asked"
    NO_NUMBERS = "visas.no_numbers"
    NO_SIGNER = "visas.no_signer"
    BLOCK_OVERLAP = "visas.block_overlap"
