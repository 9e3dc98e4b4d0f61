import enum


class AppointmentError(enum.Enum):
    INVALID = "appointment_invalid"
    NOT_FOUND = "not_found"
    SERVICE_NOT_OFFERED = "service_not_offered"
    SLOT_IN_PAST = "slot_in_past"
    SLOT_TOO_SOON = "slot_too_soon"
    SLOT_BEYOND_HORIZON = "slot_beyond_horizon"
    SLOT_NOT_RELEASED = "slot_not_released"
    SLOT_FULL = "slot_full"
    DAY_CLOSED = "day_closed"
    TOO_MANY_PERSONS = "too_many_persons"
    DOCUMENT_INVALID = "document_invalid"
    ALREADY_BOOKED = "already_booked"
    CUTOFF_PASSED = "cutoff_passed"
    BAD_TRANSITION = "bad_transition"
    BLOCKED_NO_SHOWS = "blocked_no_shows"
    LOTTERY_ONLY = "lottery_only"
    LOTTERY_CLOSED = "lottery_closed"
    LOTTERY_ALREADY_ENTERED = "lottery_already_entered"
    RATE_LIMITED = "rate_limited"
