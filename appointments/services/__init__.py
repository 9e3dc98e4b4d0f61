"""Every write of the appointments app, one module per area, re-exported so callers import
from one place (`from appointments import services`).

- `configuration`: counters, services, opening hours, rules, closures, slots (mission admin)
- `booking`: a person's booking, cancel and move; the mission's move and cancel of a booking it
  cannot keep; the counter's check-in, call, served, no-show; what a case's recorded visit does
  to its booking (`booking_visit_record`, an internal step of the case's checked service)
- `lottery`, `waitlist`: the other two ways to a place
- `places`: what those share (people, taking and giving back a place, writing a booking,
  cancelling one before its time)
- `confirmations`: the booking confirmations, sent by a sweep (nudged after a booking; beat)
- `reminders`: the reminder e-mails (beat)
- `availability`: each service's availability, reported to HQ as an event (beat)
"""

from .availability import availability_report
from .booking import (
    booking_call_next,
    booking_cancel,
    booking_cancel_by_mission,
    booking_cancel_by_token,
    booking_check_in,
    booking_create,
    booking_mark_no_show,
    booking_mark_served,
    booking_move_by_mission,
    booking_refused_ahead,
    booking_reschedule,
    booking_visit_record,
)
from .configuration import (
    closure_create,
    counter_create,
    mission_rules_update,
    opening_hours_set,
    service_create,
    service_update,
    slot_generate,
    slot_generate_all,
)
from .confirmations import booking_confirmations_send_due
from .lottery import lottery_draw, lottery_enter, lottery_round_create
from .places import PersonInput
from .reminders import booking_remind_due
from .waitlist import (
    waitlist_accept,
    waitlist_expire_offers,
    waitlist_join,
    waitlist_leave,
    waitlist_offer_place,
)

__all__ = [
    "PersonInput",
    "availability_report",
    "booking_call_next",
    "booking_cancel",
    "booking_cancel_by_mission",
    "booking_cancel_by_token",
    "booking_check_in",
    "booking_confirmations_send_due",
    "booking_create",
    "booking_mark_no_show",
    "booking_mark_served",
    "booking_move_by_mission",
    "booking_refused_ahead",
    "booking_remind_due",
    "booking_reschedule",
    "booking_visit_record",
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
    "slot_generate_all",
    "waitlist_accept",
    "waitlist_expire_offers",
    "waitlist_join",
    "waitlist_leave",
    "waitlist_offer_place",
]
