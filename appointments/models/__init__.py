"""Appointments: the service catalogue, opening hours, closures, slots, bookings, lotteries and
the waitlist, one module per area, re-exported here (`from appointments.models import Booking`).

Every table lives in the mission's schema (a TENANT app). Times are stored in UTC and shown in the
mission's time zone. Users live in the public schema, so bookings keep the user's id, not a foreign
key across schemas.
"""

from .booking import (
    BOOKING_TRANSITIONS,
    HOLDING,
    MOVED_REASON,
    Booking,
    BookingPerson,
    BookingStatus,
    ConfirmationDue,
)
from .catalogue import (
    WEEKDAY_NAMES,
    Closure,
    ClosureKind,
    Counter,
    MissionRules,
    OpeningHours,
    ReleaseMode,
    Service,
    ServicePurpose,
)
from .lottery import LOTTERY_TRANSITIONS, LotteryEntry, LotteryRound, LotteryStatus
from .slot import Slot
from .waitlist import WAITLIST_TRANSITIONS, WaitlistEntry, WaitlistStatus

__all__ = [
    "BOOKING_TRANSITIONS",
    "HOLDING",
    "LOTTERY_TRANSITIONS",
    "MOVED_REASON",
    "WAITLIST_TRANSITIONS",
    "WEEKDAY_NAMES",
    "Booking",
    "BookingPerson",
    "BookingStatus",
    "Closure",
    "ClosureKind",
    "ConfirmationDue",
    "Counter",
    "LotteryEntry",
    "LotteryRound",
    "LotteryStatus",
    "MissionRules",
    "OpeningHours",
    "ReleaseMode",
    "Service",
    "ServicePurpose",
    "Slot",
    "WaitlistEntry",
    "WaitlistStatus",
]
