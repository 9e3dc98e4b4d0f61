"""The appointments app's event topics (payloads and versions in docs/events.md)."""

from consulate.kernel.events import EventTopic


class AppointmentTopic(EventTopic):
    BOOKING_CREATED = "appointments.booking.created"
    BOOKING_CANCELLED = "appointments.booking.cancelled"
    BOOKING_CANCELLED_BY_MISSION = "appointments.booking.cancelled_by_mission"
    BOOKING_RESCHEDULED = "appointments.booking.rescheduled"
    BOOKING_CHECKED_IN = "appointments.booking.checked_in"
    BOOKING_CALLED = "appointments.booking.called"
    BOOKING_SERVED = "appointments.booking.served"
    BOOKING_NO_SHOW = "appointments.booking.no_show"
    COUNTER_CREATED = "appointments.counter.created"
    SERVICE_CREATED = "appointments.service.created"
    SERVICE_UPDATED = "appointments.service.updated"
    # what the public availability feed says of a service, when it changed (beat, hourly)
    SERVICE_AVAILABILITY_REPORTED = "appointments.service.availability_reported"
    OPENING_HOURS_SET = "appointments.opening_hours.set"
    OPENING_HOURS_DELETED = "appointments.opening_hours.deleted"
    MISSION_RULES_UPDATED = "appointments.mission_rules.updated"
    CLOSURE_CREATED = "appointments.closure.created"
    LOTTERY_ROUND_OPENED = "appointments.lottery_round.opened"
    LOTTERY_ROUND_ENTERED = "appointments.lottery_round.entered"
    LOTTERY_ROUND_DRAWN = "appointments.lottery_round.drawn"
    WAITLIST_ENTRY_JOINED = "appointments.waitlist_entry.joined"
    WAITLIST_ENTRY_OFFERED = "appointments.waitlist_entry.offered"
    WAITLIST_ENTRY_ACCEPTED = "appointments.waitlist_entry.accepted"
    WAITLIST_ENTRY_EXPIRED = "appointments.waitlist_entry.expired"
    WAITLIST_ENTRY_LEFT = "appointments.waitlist_entry.left"
