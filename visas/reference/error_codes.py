"""Error codes of HQ's visa reference data ("visas.reference.<code>"). Not allowed and not found
use `CommonError`."""

import enum


class VisaReferenceError(enum.Enum):
    INVALID_CATEGORY = "visas.reference.invalid_category"
    INVALID_ITEM = "visas.reference.invalid_item"
    INVALID_QUESTION = "visas.reference.invalid_question"
    INVALID_WATCHLIST = "visas.reference.invalid_watchlist"
    ENDED = "visas.reference.ended"
