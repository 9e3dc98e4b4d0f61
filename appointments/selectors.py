"""Reads of the appointments app."""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    Min,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf, TruncDate
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from modeltranslation.utils import build_localized_fieldname, get_language

from consulate.kernel.cache import KeptHere
from consulate.kernel.rawsql import raw_one
from consulate.kernel.tenancy import current_schema
from missions.models import Mission
from missions.permissions import Action, permission_require

from . import calendar, lottery
from .models import (
    HOLDING,
    Booking,
    BookingStatus,
    Closure,
    Counter,
    LotteryRound,
    LotteryStatus,
    MissionRules,
    OpeningHours,
    ReleaseMode,
    Service,
    Slot,
    WaitlistEntry,
    WaitlistStatus,
)

HOUR = Value(dt.timedelta(hours=1))
DAY = Value(dt.timedelta(days=1))


def service_name_order() -> Coalesce:
    """Services in the order of the names the reader sees: their language's name, or the
    English one where the service has none in their language (appointments/translation.py)."""
    field = build_localized_fieldname("name", get_language())
    return Coalesce(NullIf(F(field), Value("")), F("name_en"))


def service_list_offered() -> QuerySet[Service]:
    return Service.objects.filter(is_active=True).order_by(service_name_order(), "code")


def service_list_all() -> QuerySet[Service]:
    return Service.objects.prefetch_related("counters").order_by(service_name_order(), "code")


def service_get(*, code: str) -> Service:
    service = Service.objects.filter(code=code).first()
    if service is None:
        raise Http404
    return service


def counter_list() -> QuerySet[Counter]:
    return Counter.objects.order_by("name")


def opening_hours_list() -> QuerySet[OpeningHours]:
    return OpeningHours.objects.select_related("counter").order_by("weekday", "counter", "opens")


def closure_list_upcoming(*, mission: Mission) -> QuerySet[Closure]:
    today = mission.today()
    return (
        Closure.objects.filter(date__gte=today)
        .select_related("counter")
        .order_by("date", "counter", "kind")[:60]
    )


@dataclasses.dataclass(frozen=True)
class ClosureDay:
    """The closures of one day (of the mission, or of one counter) as staff read them, one row:
    a host-country holiday and a home national day can fall on the same date (1 January is
    both at Tokyo: `closures_import` writes a row of each kind), and the list showed the day
    twice. `reasons` and `kinds` (their labels) are each named once, in order."""

    date: dt.date
    counter: Counter | None
    reasons: list[str]
    kinds: list[str]


def closure_days(closures: Iterable[Closure]) -> list[ClosureDay]:
    """`closures` (in date order) grouped into one `ClosureDay` per date and counter."""
    grouped: dict[tuple[dt.date, int | None], ClosureDay] = {}
    for closure in closures:
        row = grouped.setdefault(
            (closure.date, closure.counter_id),
            ClosureDay(date=closure.date, counter=closure.counter, reasons=[], kinds=[]),
        )
        kind = str(closure.get_kind_display())
        if closure.reason and closure.reason not in row.reasons:
            row.reasons.append(closure.reason)
        if kind not in row.kinds:
            row.kinds.append(kind)
    return list(grouped.values())


def closure_day_of(*, day: dt.date) -> ClosureDay | None:
    """The mission's own closure of `day` (not a counter's absence), with every reason, or
    None when it is open: what the day sheet says instead of only "no appointments"."""
    rows = closure_days(Closure.objects.filter(date=day, counter=None).order_by("kind", "pk"))
    return rows[0] if rows else None


# How many free times the settings page offers to move each booking outside the hours to.
MOVE_CHOICES = 30


def booking_list_outside_hours(*, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The active bookings whose time the opening hours no longer cover (`Slot.outside_hours`),
    in time order, each with the first free times of its service to move it to (no personal
    data: references, services, times). One query for the bookings, one per service."""
    now = now or timezone.now()
    bookings = list(
        Booking.objects.filter(
            status=BookingStatus.ACTIVE, slot__outside_hours=True, slot__starts_at__gt=now
        )
        .select_related("slot", "service")
        .order_by("slot__starts_at", "reference")
    )
    free: dict[int, list[Slot]] = {}
    for booking in bookings:
        if booking.service_id not in free:
            free[booking.service_id] = list(
                _bookable(booking.service, now).order_by("starts_at")[:MOVE_CHOICES]
            )
    return [{"booking": b, "free": free[b.service_id]} for b in bookings]


def settings_overview(*, mission: Mission, acting_user: Any) -> dict[str, Any]:
    """What the settings page shows: the catalogue with its counters, the counters, opening
    hours, the bookings those hours no longer cover, the closures ahead and the latest draws
    (the permission table is asked here too)."""
    permission_require(user=acting_user, mission=mission, action=Action.APPOINTMENTS_SETTINGS_VIEW)
    return {
        "services": list(service_list_all()),
        "counters": list(counter_list()),
        "hours": list(opening_hours_list()),
        "outside_hours": booking_list_outside_hours(),
        "closures": closure_days(closure_list_upcoming(mission=mission)),
        "rounds": list(lottery_round_list_public()[:10]),
    }


# Read on every booking, calendar and slot list: as a fixed statement it costs a third of the
# CPU of the same query composed by the ORM with modeltranslation's rewriting.
_SERVICE_OFFERED_SQL = f"SELECT * FROM {Service._meta.db_table} WHERE code = %s AND is_active"  # noqa: S608


# (schema, code) -> the service: see service_get_offered
_services_here = KeptHere()


def service_get_offered(*, code: str) -> Service:
    """The offered service with this code (unique), or 404.

    Each process keeps what it read for `APPOINTMENTS_SERVICE_LOCAL_SECONDS` (under load, a
    statement saved on most bookings, calendars and slot lists): a change made through another
    process shows here that much later at most (a service just withdrawn, or switched to a
    lottery, can still be booked directly in that time, as with the mission's own copy,
    consulate/kernel/tenancy.py), and in this one at once (`service_forget_here`, at every save
    and again at its commit), or as late, when another thread of it read the old row at that
    very moment."""
    seconds = getattr(settings, "APPOINTMENTS_SERVICE_LOCAL_SECONDS", 0)
    key = (current_schema(), code)
    kept: Service | None = _services_here.get(key) if seconds else None
    if kept is not None:
        return kept
    found = raw_one(Service, _SERVICE_OFFERED_SQL, [code])
    if found is None:
        raise Http404
    if seconds:
        _services_here.put(key, found, seconds=seconds)
    return found


def service_forget_here() -> None:
    """Drop this process's copies of every service, and of their next releases."""
    _services_here.forget()
    _next_releases_here.forget()


def _bookable(service: Service, now: dt.datetime) -> QuerySet[Slot]:
    return Slot.objects.filter(
        Q(bookable_from__isnull=True) | Q(bookable_from__lte=now),
        service=service,
        booked__lt=F("capacity"),
        starts_at__gte=now + dt.timedelta(hours=service.min_notice_hours),
        starts_at__lte=now + dt.timedelta(days=service.horizon_days),
    )


# The booking's one read, as a fixed statement: built with the ORM (annotations with three
# subqueries) it cost about 15 ms of CPU per booking to compose, more than the rest of the
# booking's SQL together (docs/benchmarks.md). The rule's defaults are MissionRules' own.
_RULE_DEFAULTS = {
    name: MissionRules._meta.get_field(name).get_default()  # type: ignore[union-attr]
    for name in ("no_show_limit", "no_show_window_days", "no_show_block_days")
}
_SLOT_FOR_BOOKING_SQL = """
SELECT s.*,
       EXISTS (SELECT 1 FROM appointments_closure c
               WHERE c.counter_id IS NULL
                 AND c.date = (s.starts_at AT TIME ZONE %(zone)s)::date) AS day_closed,
       coalesce(r.no_show_limit, %(limit)s) AS no_show_limit,
       coalesce(r.no_show_block_days, %(block)s) AS no_show_block_days,
       ARRAY(SELECT missed.starts_at
             FROM appointments_booking b JOIN appointments_slot missed ON missed.id = b.slot_id
             WHERE %(user)s::bigint IS NOT NULL AND b.user_id = %(user)s::bigint
               AND b.status = %(no_show)s
               AND missed.starts_at >= %(now)s::timestamptz
                   - make_interval(days => coalesce(r.no_show_window_days, %(window)s))
             ORDER BY missed.starts_at DESC) AS recent_no_shows
FROM appointments_slot s
LEFT JOIN (SELECT * FROM appointments_missionrules ORDER BY id LIMIT 1) r ON true
WHERE s.id = %(slot)s AND s.service_id = %(service)s
"""


def slot_get_for_booking(
    *, service: Service, slot_id: int, mission: Mission, user_id: int | None, now: dt.datetime
) -> Slot | None:
    """The slot of `service` with this id, with what booking it must check, in one statement:
    whether the mission is closed that day in its time zone (`day_closed`), the mission's
    no-show rule (`no_show_limit`, `no_show_block_days`) and, for an account, the starts of its
    no-shows within the rule's window, latest first (`recent_no_shows`). None if there is
    none."""
    params = {
        "zone": mission.timezone, "limit": _RULE_DEFAULTS["no_show_limit"],
        "block": _RULE_DEFAULTS["no_show_block_days"],
        "window": _RULE_DEFAULTS["no_show_window_days"], "user": user_id,
        "no_show": BookingStatus.NO_SHOW.value, "now": now, "slot": slot_id,
        "service": service.pk,
    }  # fmt: skip
    slot = raw_one(Slot, _SLOT_FOR_BOOKING_SQL, params)
    if slot is not None:
        slot.service = service
    return slot


# (schema, service) -> (its next release,): see service_next_release
_next_releases_here = KeptHere()


def service_next_release(*, service: Service, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the service's next times become bookable (scheduled release), or None.

    Every refusal of a full time says it, and at a release nearly every request is one. At the
    present time each process keeps what it read for the feed's few seconds
    (`CONSULATE_AVAILABILITY_CACHE_SECONDS`: the feed says the same thing as late), and never
    past the release it names, which is then read again: the one that follows. A change of the
    service through this process drops the copy (`service_forget_here`)."""
    seconds = _feed_kept_seconds()
    if now is not None or not seconds:
        return _next_release_read(service, now or timezone.now())
    key = (current_schema(), service.pk)
    kept = _next_releases_here.get(key)
    now = timezone.now()
    if kept is not None and (kept[0] is None or kept[0] > now):
        return kept[0]  # type: ignore[no-any-return]
    release = _next_release_read(service, now)
    until = seconds if release is None else min(seconds, (release - now).total_seconds())
    _next_releases_here.put(key, (release,), seconds=until)
    return release


def _next_release_read(service: Service, now: dt.datetime) -> dt.datetime | None:
    return Slot.objects.filter(service=service, bookable_from__gt=now).aggregate(  # type: ignore[no-any-return]
        first=Min("bookable_from")
    )["first"]


def slot_list_available(*, service: Service, now: dt.datetime | None = None) -> list[Slot]:
    """Every bookable slot of the service over its horizon, in time order: one query whatever
    the horizon (closed days have no capacity, so no closure lookup is needed)."""
    now = now or timezone.now()
    if service.release_mode == ReleaseMode.LOTTERY:
        return []
    return list(_bookable(service, now).order_by("starts_at"))


def slot_next_available(*, service: Service, now: dt.datetime | None = None) -> Slot | None:
    """The first bookable slot of the service (one indexed query)."""
    now = now or timezone.now()
    if service.release_mode == ReleaseMode.LOTTERY:
        return None
    return _bookable(service, now).order_by("starts_at").first()


def slot_first_free_day(
    *,
    service: Service,
    mission: Mission,
    day_from: dt.date,
    day_to: dt.date,
    now: dt.datetime | None = None,
) -> dt.date | None:
    """The first day (mission time) of `day_from`..`day_to` with a time anyone can book now, or
    None (one indexed query). A lottery service has none: its times are drawn."""
    now = now or timezone.now()
    if service.release_mode == ReleaseMode.LOTTERY:
        return None
    start = calendar.local_day_bounds(day_from, mission.zone)[0]
    end = calendar.local_day_bounds(day_to, mission.zone)[1]
    first = (
        _bookable(service, now)
        .filter(starts_at__gte=start, starts_at__lt=end)
        .order_by("starts_at")
        .values_list("starts_at", flat=True)
        .first()
    )
    return first.astimezone(mission.zone).date() if first else None


def slot_day_counts(
    *, service: Service, mission: Mission, now: dt.datetime | None = None
) -> OrderedDict[dt.date, int]:
    """How many bookable times each day (mission time zone) of the horizon has, in day order:
    one aggregate query, so the calendar does not build every slot of the horizon to show one
    day's."""
    now = now or timezone.now()
    if service.release_mode == ReleaseMode.LOTTERY:
        return OrderedDict()
    rows = (
        _bookable(service, now)
        .annotate(day=TruncDate("starts_at", tzinfo=mission.zone))
        .order_by("day")
        .values("day")
        .annotate(times=Count("id"))
        .values_list("day", "times")
    )
    return OrderedDict(rows)


def slot_list_available_on(
    *, service: Service, mission: Mission, day: dt.date, now: dt.datetime | None = None
) -> list[Slot]:
    """The bookable slots of one day (mission time zone), in time order (one query)."""
    now = now or timezone.now()
    if service.release_mode == ReleaseMode.LOTTERY:
        return []
    start, end = calendar.local_day_bounds(day, mission.zone)
    slots = _bookable(service, now).filter(starts_at__gte=start, starts_at__lt=end)
    return list(slots.order_by("starts_at"))


def slot_day_choice(
    *, service: Service | None, mission: Mission, asked: dt.date | None
) -> dict[str, Any]:
    """One day's times of a service, as the pages that book a case's visit show them (two
    queries, however many days): every day with free times and its count (`days`, the chosen
    one in it even if it has none), the day `asked` for or else the first with free times
    (`chosen`), its times, and the day with free times before and after it. No service, none."""
    days = slot_day_counts(service=service, mission=mission) if service is not None else {}
    chosen = asked or next(iter(days), mission.today())
    times = (
        slot_list_available_on(service=service, mission=mission, day=chosen)
        if service is not None and chosen in days
        else []
    )
    return {
        "days": sorted({**days, chosen: days.get(chosen, 0)}.items()) if days else [],
        "chosen": chosen,
        "previous_day": max((day for day in days if day < chosen), default=None),
        "next_day": min((day for day in days if day > chosen), default=None),
        "times": times,
    }


def _feed_kept_seconds() -> int:
    return int(getattr(settings, "CONSULATE_AVAILABILITY_CACHE_SECONDS", 0))


def availability_feed(
    *,
    mission: Mission,
    now: dt.datetime | None = None,
    services: list[Service] | None = None,
) -> list[dict[str, Any]]:
    """Per offered service (or per one of `services`, already read): next bookable time, next
    release time, when an open draw closes. No personal data. Four queries (three if the
    services are given) whatever the number of services.

    The whole feed of a mission (no `services`, no `now`) is what every visitor's page and
    poll reads, thousands of times a second when times are released: it is kept in the cache
    for `CONSULATE_AVAILABILITY_CACHE_SECONDS` (a few seconds; 0: not kept), per mission and
    language, so that a rush costs the database one read of it per interval."""
    seconds = _feed_kept_seconds()
    if seconds and services is None and now is None:
        key = f"availability-feed:{mission.schema_name}:{get_language()}"
        feed = cache.get(key)
        if feed is None:
            feed = availability_feed(mission=mission, now=timezone.now())
            cache.set(key, feed, seconds)
        return feed
    now = now or timezone.now()
    services = list(service_list_offered()) if services is None else services
    next_free = dict(
        Slot.objects.filter(
            Q(bookable_from__isnull=True) | Q(bookable_from__lte=now),
            service__in=services,
            service__is_active=True,
            booked__lt=F("capacity"),
            starts_at__gt=now,
        )
        # each service's own minimum notice and horizon, in SQL (interval arithmetic)
        .alias(
            earliest=ExpressionWrapper(
                Value(now) + F("service__min_notice_hours") * HOUR, output_field=DateTimeField()
            ),
            latest=ExpressionWrapper(
                Value(now) + F("service__horizon_days") * DAY, output_field=DateTimeField()
            ),
        )
        .filter(starts_at__gte=F("earliest"), starts_at__lte=F("latest"))
        .exclude(service__release_mode=ReleaseMode.LOTTERY)
        .values("service")
        .annotate(first=Min("starts_at"))
        .values_list("service", "first")
    )
    next_release = dict(
        Slot.objects.filter(service__in=services, bookable_from__gt=now)
        .values("service")
        .annotate(first=Min("bookable_from"))
        .values_list("service", "first")
    )
    rounds: dict[int, LotteryRound] = {}
    for open_round in LotteryRound.objects.filter(
        service__in=services, status=LotteryStatus.OPEN
    ).order_by("window_closes_at"):
        rounds.setdefault(open_round.service_id, open_round)
    zone = mission.zone
    feed = []
    for service in services:
        first = next_free.get(service.pk)
        release = next_release.get(service.pk)
        lottery_round = rounds.get(service.pk)
        feed.append(
            {
                "service": service.code,
                "name": service.name,
                "release_mode": service.release_mode,
                "next_bookable": first.astimezone(zone).isoformat() if first else None,
                "next_release": release.astimezone(zone).isoformat() if release else None,
                "lottery_closes": lottery_round.window_closes_at.astimezone(zone).isoformat()
                if lottery_round
                else None,
            }
        )
    return feed


FEED_TIMES = ("next_bookable", "next_release", "lottery_closes")


def availability_feed_times(
    *,
    mission: Mission,
    now: dt.datetime | None = None,
    services: list[Service] | None = None,
) -> list[dict[str, Any]]:
    """`availability_feed` with its times as datetimes (mission time), for pages to format.

    For `services` at the present time, their rows come from the mission's kept feed (every
    offered service, no query while it is kept); a service the kept feed does not know yet
    (offered within its few seconds) is read from the database."""
    if services is not None and now is None and _feed_kept_seconds():
        kept = {row["service"]: row for row in availability_feed(mission=mission)}
        missing = [service for service in services if service.code not in kept]
        if missing:
            read = availability_feed(mission=mission, services=missing)
            kept |= {row["service"]: row for row in read}
        rows = [kept[service.code] for service in services]
    else:
        rows = availability_feed(mission=mission, now=now, services=services)
    return [
        {**row, **{key: parse_datetime(row[key]) if row[key] else None for key in FEED_TIMES}}
        for row in rows
    ]


def service_list_with_availability(*, mission: Mission) -> list[dict[str, Any]]:
    """The catalogue page's rows: each offered service with its availability (four queries)."""
    services = list(service_list_offered())
    feed = availability_feed_times(mission=mission, services=services)
    return [{"service": service, "feed": row} for service, row in zip(services, feed, strict=True)]


def booking_list_for_user(
    *, user_id: int | None, now: dt.datetime | None = None
) -> QuerySet[Booking]:
    """The person's bookings at this mission in the one order My bookings and the API give them
    (one query): first those that still stand and have not ended (annotated `upcoming`), the
    soonest first, so the next appointment is on top; then the past, cancelled, missed and
    released ones, the most recent time first."""
    if user_id is None:
        return Booking.objects.none()
    now = now or timezone.now()
    upcoming = Q(status__in=HOLDING, slot__ends_at__gt=now)
    return (
        Booking.objects.filter(user_id=user_id)
        .annotate(upcoming=ExpressionWrapper(upcoming, output_field=BooleanField()))
        .select_related("slot", "service")
        .order_by(
            F("upcoming").desc(),
            # among the upcoming, the soonest first (NULL, thus equal, for the others) ...
            Case(When(upcoming, then=F("slot__starts_at"))).asc(),
            # ... and among the others, the most recent first
            F("slot__starts_at").desc(),
            "reference",
        )
    )


@dataclasses.dataclass(frozen=True)
class BookingsOfUser:
    """My bookings in two lists, in `booking_list_for_user`'s order: `upcoming`, those that
    still stand and have not ended, the soonest first (the next appointment on top); `earlier`,
    the past, cancelled, missed and released ones, the most recent first."""

    upcoming: list[Booking]
    earlier: list[Booking]


def booking_lists_for_user(
    *, user_id: int | None, now: dt.datetime | None = None
) -> BookingsOfUser:
    """The person's bookings at this mission, as My bookings shows them (one query)."""
    bookings = list(booking_list_for_user(user_id=user_id, now=now))
    return BookingsOfUser(
        upcoming=[b for b in bookings if b.upcoming],  # type: ignore[attr-defined]
        earlier=[b for b in bookings if not b.upcoming],  # type: ignore[attr-defined]
    )


def booking_get_for_user(*, reference: str, user_id: int | None) -> Booking:
    """The user's own booking, or 404 (also for somebody else's)."""
    if user_id is None:
        raise Http404
    booking = (
        Booking.objects.filter(reference=reference.upper(), user_id=user_id)
        .select_related("slot", "service")
        .first()
    )
    if booking is None:
        raise Http404
    return booking


def booking_holds_place(*, booking_id: int | None) -> bool:
    """Whether the booking a passport or visa case keeps by id still stands (active or checked
    in): once it is cancelled (by the person or the mission) or missed, the case books again."""
    if booking_id is None:
        return False
    return Booking.objects.filter(pk=booking_id, status__in=HOLDING).exists()


def booking_get_by_reference(*, reference: str) -> Booking | None:
    """The booking a reference typed or scanned at the counter names (any case, spaces around)."""
    return (
        Booking.objects.filter(reference=reference.strip().upper())
        .select_related("slot", "service")
        .first()
    )


def booking_get_by_cancel_token(*, reference: str, token: str) -> Booking | None:
    """The booking an e-mail's cancel link names, or None if the link's secret does not match
    (compared in constant time)."""
    booking = booking_get_by_reference(reference=reference)
    if booking is None or not secrets.compare_digest(booking.cancel_token.encode(), token.encode()):
        return None
    return booking


def day_sheet(*, mission: Mission, day: dt.date, acting_user: Any) -> list[Booking]:
    """The day's bookings with their people (names: personal data, so the permission table is
    asked here too), in time order; two queries. Cancelled ones are left out, but not those
    released because the visit was recorded before the day: the officer reads why that person
    is not coming."""
    permission_require(user=acting_user, mission=mission, action=Action.DAY_SHEET_VIEW)
    start, end = calendar.local_day_bounds(day, mission.zone)
    return list(
        Booking.objects.filter(slot__starts_at__gte=start, slot__starts_at__lt=end)
        .exclude(
            status__in=[BookingStatus.CANCELLED, BookingStatus.CANCELLED_BY_MISSION],
            visit_recorded_at__isnull=True,
        )
        .select_related("slot", "service")
        .prefetch_related("persons")
        .order_by("slot__starts_at", "reference")
    )


def queue_waiting() -> QuerySet[Booking]:
    return (
        Booking.objects.filter(status=BookingStatus.CHECKED_IN)
        .select_related("service")
        .order_by("queue_number")
    )


def lottery_round_list_public() -> QuerySet[LotteryRound]:
    return LotteryRound.objects.select_related("service").order_by("-window_opens_at")


def lottery_round_get_public(*, pk: int) -> LotteryRound:
    lottery_round = LotteryRound.objects.select_related("service").filter(pk=pk).first()
    if lottery_round is None:
        raise Http404
    return lottery_round


def lottery_results(*, lottery_round: LotteryRound) -> list[dict[str, Any]]:
    """A drawn round's public result: each ticket's rank, its draw key and whether it won (no
    personal data), in rank order."""
    return [
        {
            "rank": entry.rank,
            "ticket": entry.ticket,
            "key": lottery.draw_key(lottery_round.seed, entry.ticket),
            "won": entry.booking_id is not None,
        }
        for entry in lottery_round.entries.order_by("rank")
    ]


def lottery_tickets(*, lottery_round: LotteryRound) -> list[str]:
    """Every ticket entered in a round (public: random keys, no personal data), sorted."""
    return list(lottery_round.entries.order_by("ticket").values_list("ticket", flat=True))


def waitlist_entry_get_by_offer_token(*, pk: int, token: str) -> WaitlistEntry | None:
    """The entry an offer link names, or None if the link's secret does not match (compared in
    constant time)."""
    entry = WaitlistEntry.objects.select_related("service", "slot", "booking").filter(pk=pk).first()
    if (
        entry is None
        or not entry.offer_token
        or not secrets.compare_digest(entry.offer_token.encode(), token.encode())
    ):
        return None
    return entry


def waitlist_list_for_user(*, user_id: int | None) -> QuerySet[WaitlistEntry]:
    if user_id is None:
        return WaitlistEntry.objects.none()
    return WaitlistEntry.objects.filter(user_id=user_id).select_related("service", "slot")


def waitlist_list_current_for_user(*, user_id: int | None) -> QuerySet[WaitlistEntry]:
    """The person's entries still waiting or holding an offer (My bookings), oldest first."""
    return (
        waitlist_list_for_user(user_id=user_id)
        .filter(status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED])
        .order_by("created_at", "id")
    )


def waitlist_entry_get_for_user(*, pk: int, user_id: int | None) -> WaitlistEntry:
    """The person's own entry, or 404 (also for somebody else's)."""
    entry = waitlist_list_for_user(user_id=user_id).filter(pk=pk).first()
    if entry is None:
        raise Http404
    return entry
