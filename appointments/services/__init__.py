"""Every write of the appointments app. Re-exported so callers import from one place."""

from .booking import (
    PersonInput,
    booking_call_next,
    booking_cancel,
    booking_cancel_by_token,
    booking_check_in,
    booking_create,
    booking_mark_no_show,
    booking_mark_served,
    booking_reschedule,
)
from .configuration import (
    closure_create,
    counter_create,
    mission_rules_update,
    opening_hours_set,
    service_create,
    service_update,
    slot_generate,
)
from .lottery import lottery_draw, lottery_enter, lottery_round_create
from .waitlist import (
    waitlist_accept,
    waitlist_expire_offers,
    waitlist_join,
    waitlist_offer_place,
)

__all__ = [
    "PersonInput",
    "booking_call_next",
    "booking_cancel",
    "booking_cancel_by_token",
    "booking_check_in",
    "booking_create",
    "booking_mark_no_show",
    "booking_mark_served",
    "booking_reschedule",
    "closure_create",
    "counter_create",
    "lottery_draw",
    "lottery_enter",
    "lottery_round_create",
    "mission_rules_update",
    "opening_hours_set",
    "service_create",
    "service_update",
    "slot_generate",
    "waitlist_accept",
    "waitlist_expire_offers",
    "waitlist_join",
    "waitlist_offer_place",
]
