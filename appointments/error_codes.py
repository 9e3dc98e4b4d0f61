"""The appointments app's error codes, namespaced by app (`appointments.<code>`). Not found, not
allowed, a move the workflow forbids and rate limits use `CommonError`."""

import enum


class AppointmentError(enum.Enum):
    INVALID = "appointments.invalid"
    SERVICE_NOT_OFFERED = "appointments.service_not_offered"
    SLOT_IN_PAST = "appointments.slot_in_past"
    SLOT_TOO_SOON = "appointments.slot_too_soon"
    SLOT_BEYOND_HORIZON = "appointments.slot_beyond_horizon"
    SLOT_NOT_RELEASED = "appointments.slot_not_released"
    SLOT_FULL = "appointments.slot_full"
    DAY_CLOSED = "appointments.day_closed"
    TOO_MANY_PERSONS = "appointments.too_many_persons"
    DOCUMENT_INVALID = "appointments.document_invalid"
    ALREADY_BOOKED = "appointments.already_booked"
    CUTOFF_PASSED = "appointments.cutoff_passed"
    BLOCKED_NO_SHOWS = "appointments.blocked_no_shows"
    LOTTERY_ONLY = "appointments.lottery_only"
    BOOKED_FROM_CASE = "appointments.booked_from_case"
    LOTTERY_CLOSED = "appointments.lottery_closed"
    LOTTERY_ALREADY_ENTERED = "appointments.lottery_already_entered"
    WAITLIST_ALREADY = "appointments.waitlist_already"
    WAITLIST_FREE_TIMES = "appointments.waitlist_free_times"
    OFFER_EXPIRED = "appointments.offer_expired"
    # the mission's cancel or move of a booking outside new opening hours, which cover it now
    WITHIN_HOURS = "appointments.within_hours"
    # the mission's move of a booking to a time the opening hours no longer include
    TIME_OUTSIDE_HOURS = "appointments.time_outside_hours"
    # a closure for a day already over at the mission
    CLOSURE_DAY_PAST = "appointments.closure_day_past"
