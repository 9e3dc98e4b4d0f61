"""Benchmark: HQ monitoring's pages and the public wait times over 300 missions and 1,000,000
applied events (issue 13, "Speed": under 300 ms, a fixed number of queries).

    .venv/bin/python bench/hq_monitoring.py [--missions 300] [--events 1000000] [--days 400]
        [--batch 1000] [--requests 50] [--compare-small] [--profile PAGE] [--reuse]
        [--database consulate_bench_monitoring]

Works in its own database (dropped and created again unless `--reuse`; on the embedded
PostgreSQL when DATABASE_URL is unset, else on DATABASE_URL's server with the name replaced),
migrated with `migrate_all`. Settings: bench/booking_settings.py (DEBUG off, connections kept as
in production). It builds what HQ would hold after a year of sync:

- `--missions` missions made by `missions.services.mission_create` (timed), spread over the five
  regions, in time zones from Honolulu to Auckland, each with its currency;
- `--events` events over `--days` days, split unevenly between the missions (a big post has ten
  times a small one's), in the shapes docs/events.md gives and the projectors read: bookings
  made online or at the counter, then checked in and served, absent or cancelled; the services'
  availability reports (with their names, the last one within the hour); payments at the
  counter or online with local and base amounts and the business date; fee waivers requested
  and decided; refund requests, approved (with their ledger transaction) or refused; staff
  actors on staff's events. Each mission's events are applied in order in batches of
  `--batch` (a bundle's worth) the way HQ's apply does (`sync.hq.apply`, less the signature):
  one transaction per batch with the link locked, the apply's own INSERT into HQ's central
  log, `sync.registry.events_project` over the registered projectors, the link moved on;
- each mission's last contact (a few silent for hours or days).

Then, in-process through Django's full handler (`django.test.Client` on HQ's host; an HQ analyst
with a second factor, as tests/missions/test_sync_pages.py logs in), for each page: the
statements one request sends (CaptureQueriesContext; `SET search_path` included), and the
server time p50/p90/p99 and the process's CPU time over `--requests` requests after a warm-up.
`/wait-times/` is measured with the cache cleared before each request (computed) and warm.
`--compare-small` first builds and measures a second database (`<database>_small`) of 10
missions with as many events per mission, and prints both statement counts side by side.
Last, the exactness check: for 5 missions, every register is built again from the central log
(`sync.registry.registers_rebuild`) and compared row for row with what the batches left.
`--profile PAGE` runs cProfile over that page and prints where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import random
import statistics
import sys
import time
import warnings
import zoneinfo
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.booking_settings")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _sync  # noqa: E402
from bench.mission_create import bench_database_url, recreate_database  # noqa: E402

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# the static files are not collected in a development tree; the pages do not serve them
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
SMALL_MISSIONS = 10
EXACT_SAMPLE = 5

# (country, city, time zone, currency, UN M49 region, local minor units per EUR cent).
# East and west of UTC, every region, currencies with 0, 2 and 3 decimals.
PLACES = [
    ("DE", "Berlin", "Europe/Berlin", "EUR", "150", 1.0),
    ("JP", "Tokyo", "Asia/Tokyo", "JPY", "142", 1.6),
    ("US", "New York", "America/New_York", "USD", "019", 1.08),
    ("US", "Los Angeles", "America/Los_Angeles", "USD", "019", 1.08),
    ("US", "Honolulu", "Pacific/Honolulu", "USD", "019", 1.08),
    ("GB", "London", "Europe/London", "GBP", "150", 0.85),
    ("BH", "Manama", "Asia/Bahrain", "BHD", "142", 4.1),
    ("BR", "São Paulo", "America/Sao_Paulo", "BRL", "019", 5.4),
    ("AU", "Sydney", "Australia/Sydney", "AUD", "009", 1.65),
    ("NZ", "Auckland", "Pacific/Auckland", "NZD", "009", 1.8),
    ("ZA", "Johannesburg", "Africa/Johannesburg", "ZAR", "002", 20.0),
    ("NG", "Lagos", "Africa/Lagos", "NGN", "002", 16.0),
    ("EG", "Cairo", "Africa/Cairo", "EGP", "002", 52.0),
    ("IN", "Mumbai", "Asia/Kolkata", "INR", "142", 90.0),
    ("CA", "Toronto", "America/Toronto", "CAD", "019", 1.5),
    ("MX", "Mexico City", "America/Mexico_City", "MXN", "019", 19.0),
    ("FR", "Paris", "Europe/Paris", "EUR", "150", 1.0),
    ("NL", "Amsterdam", "Europe/Amsterdam", "EUR", "150", 1.0),
    ("AZ", "Baku", "Asia/Baku", "AZN", "142", 1.85),
    ("KR", "Seoul", "Asia/Seoul", "KRW", "142", 14.5),
    ("CL", "Santiago", "America/Santiago", "CLP", "019", 10.2),
    ("DE", "Düsseldorf", "Europe/Berlin", "EUR", "150", 1.0),
    ("TR", "İzmir", "Europe/Istanbul", "TRY", "150", 36.0),
    ("KE", "Nairobi", "Africa/Nairobi", "KES", "002", 140.0),
]
SERVICES = (
    ("passport", {"en": "Passport", "tr": "Pasaport"}, 6_000),
    ("visa", {"en": "Visa", "tr": "Vize"}, 8_000),
    ("legal", {"en": "Legal services", "tr": "Noter işlemleri"}, 3_500),
)

# The pages measured: (label, path, who asks, cache cleared before each request).
PAGES = (
    ("dashboard", "/hq/", "analyst", False),
    ("dashboard_region", "/hq/?region=150", "analyst", False),
    ("dashboard_sorted", "/hq/?sort=appointments.wait_days&order=desc", "analyst", False),
    ("dashboard_csv", "/hq/missions.csv", "analyst", False),
    ("trends", "/hq/trends/", "analyst", False),
    ("mission", "/hq/missions/{code}/", "analyst", False),
    ("wait_times_cold", "/wait-times/", "anonymous", True),
    ("wait_times_warm", "/wait-times/", "anonymous", False),
    ("wait_times_json", "/wait-times.json", "anonymous", True),
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--missions", type=int, default=300)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=400, help="the events span this many days")
    parser.add_argument("--batch", type=int, default=1000, help="events per applied batch")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--compare-small",
        action="store_true",
        help=f"also build and measure {SMALL_MISSIONS} missions (same events per mission) first",
    )
    parser.add_argument("--profile", choices=[page[0] for page in PAGES], default=None)
    parser.add_argument(
        "--reuse", action="store_true", help="measure the database a previous run filled"
    )
    _sync.database_argument(parser, "consulate_bench_monitoring")
    return parser.parse_args()


# --- the missions ---------------------------------------------------------------------------------


def mission_params(code: str, index: int) -> dict[str, Any]:
    country, city, zone, currency, region, _rate = PLACES[index % len(PLACES)]
    return {
        "code": code,
        "name": f"Consulate-General in {city} ({code})",
        "kind": "consulate_general",
        "host_country": country,
        "city": city,
        "timezone": zone,
        "currency": currency,
        "languages": ["en", "tr"],
        "address": "Example street 1",
        "office_hours": [{"weekday": d, "opens": "09:00", "closes": "13:00"} for d in range(5)],
        "region": region,
    }


def missions_create(prefix: str, count: int) -> list[Any]:
    """`count` missions through `mission_create`, each on a fresh connection (as an HQ admin's
    request in production, and as bench/mission_create.py measures it)."""
    from django.db import connection

    from consulate.kernel.actors import SYSTEM
    from missions.services import mission_create

    started = time.perf_counter()
    made = []
    for index in range(count):
        connection.close()
        with _quiet():
            made.append(
                mission_create(acting_user=SYSTEM, **mission_params(f"{prefix}{index:03d}", index))
            )
        if (index + 1) % 50 == 0 and index + 1 < count:
            print(f"  missions: {index + 1}/{count} ({time.perf_counter() - started:.0f} s)")
    seconds = time.perf_counter() - started
    print(f"mission_create x {count}: {seconds:.1f} s ({seconds / count:.2f} s each)")
    return made


class _quiet:
    """Swallows what migrate_schemas --fake prints during mission_create."""

    def __enter__(self) -> None:
        self._stdout = sys.stdout
        sys.stdout = io.StringIO()

    def __exit__(self, *exc: object) -> None:
        sys.stdout = self._stdout


# --- the events -----------------------------------------------------------------------------------


class MissionHistory:
    """One mission's events over the period, in the shapes its apps record them (docs/events.md),
    as (occurred_at, topic, aggregate_type, aggregate_id, payload, actor_id) until `quota`."""

    def __init__(self, *, mission: Any, index: int, quota: int, start: dt.datetime,
                 now: dt.datetime, rng: random.Random, base_currency: str) -> None:  # fmt: skip
        self.code = mission.code
        self.zone = zoneinfo.ZoneInfo(mission.timezone)
        self.currency = mission.currency
        self.rate = PLACES[index % len(PLACES)][5]
        self.base_currency = base_currency
        self.quota, self.start, self.now, self.rng = quota, start, now, rng
        self.staff = [index * 1000 + k for k in range(1, rng.randint(4, 16))]
        # what makes missions differ: waits, absences, the online share, the backlog
        self.lead_days = rng.choice((5, 10, 20, 35, 50))
        self.no_show = rng.uniform(0.03, 0.2)
        self.online = rng.uniform(0.35, 0.95)
        self.decide_days = rng.choice((1, 3, 6, 12))
        self.rows: list[tuple[dt.datetime, str, str, str, dict[str, Any], int | None]] = []
        self.ids = Counter[str]()

    def _id(self, kind: str) -> str:
        self.ids[kind] += 1
        return str(self.ids[kind])

    def _add(self, at: dt.datetime, topic: str, aggregate_id: str, payload: dict[str, Any],
             actor: int | None) -> None:  # fmt: skip
        if at < self.now:
            self.rows.append((at, topic, topic.split(".")[1], aggregate_id, payload, actor))

    def _staff(self) -> int:
        return self.rng.choice(self.staff)

    def _local_date(self, at: dt.datetime) -> str:
        return at.astimezone(self.zone).date().isoformat()

    def availability(self) -> None:
        """Each service's report every 2 to 6 days, and one within the last hour (beat reports
        when the figures change); a few missions' passport service full at the end."""
        full_now = self.rng.random() < 0.05
        for number, (code, names, _fee) in enumerate(SERVICES, start=1):
            service_id = str(number)  # the service's row id at the mission
            at = self.start + dt.timedelta(hours=self.rng.uniform(0, 48))
            last = self.now - dt.timedelta(minutes=self.rng.uniform(1, 55))
            while True:
                final = at >= last
                moment = last if final else at
                free = 0 if final and full_now and code == "passport" else self.rng.randint(0, 400)
                wait = self.lead_days * self.rng.uniform(0.3, 1.6)
                upcoming = moment + dt.timedelta(days=wait)
                self._add(moment, "appointments.service.availability_reported", service_id, {
                    "service": code, "release_mode": "open",
                    "next_bookable": upcoming.strftime(TIME_FORMAT) if free else None,
                    "next_release": None, "lottery_closes": None, "free_places_30d": free,
                    "names": names, "offered": True,
                }, None)  # fmt: skip
                if final:
                    break
                at += dt.timedelta(days=self.rng.uniform(2, 6))

    def booking(self) -> None:
        rng = self.rng
        span = (self.now - self.start).total_seconds()
        booked_at = self.start + dt.timedelta(seconds=rng.uniform(0, span))
        service, _names, fee = SERVICES[rng.choices((0, 1, 2), weights=(5, 3, 2))[0]]
        lead = max(1, int(rng.triangular(1, self.lead_days * 2, self.lead_days)))
        day = (booked_at.astimezone(self.zone) + dt.timedelta(days=lead)).date()
        local = dt.datetime.combine(day, dt.time(9), tzinfo=self.zone)
        starts_at = (local + dt.timedelta(minutes=15 * rng.randrange(16))).astimezone(dt.UTC)
        booking = self._id("booking")
        reference = f"{self.code.upper()}-{int(booking):07d}"
        online = rng.random() < self.online
        self._add(booked_at, "appointments.booking.created", booking, {
            "reference": reference, "service": service,
            "starts_at": starts_at.strftime(TIME_FORMAT), "persons": rng.choice((1, 1, 1, 2, 3)),
            "channel": "online" if online else "counter",
        }, None if online else self._staff())  # fmt: skip
        draw = rng.random()
        if draw < 0.1:
            cancel_at = booked_at + (starts_at - booked_at) * rng.random()
            self._add(cancel_at, "appointments.booking.cancelled", booking,
                      {"reference": reference}, None)  # fmt: skip
            return
        if starts_at >= self.now:
            return  # still to come
        ticket = {"reference": reference, "queue_number": rng.randint(1, 200)}
        if draw < 0.1 + self.no_show:
            self._add(starts_at + dt.timedelta(minutes=30), "appointments.booking.no_show",
                      booking, ticket, self._staff())  # fmt: skip
            return
        checked_in = starts_at - dt.timedelta(minutes=rng.uniform(1, 15))
        self._add(checked_in, "appointments.booking.checked_in", booking, ticket, self._staff())
        served = starts_at + dt.timedelta(minutes=rng.uniform(5, 40))
        self._add(served, "appointments.booking.served", booking, ticket, self._staff())
        if rng.random() < 0.04:
            self.waiver(served, booking, service, fee)
        elif rng.random() < 0.85:
            self.payment(served + dt.timedelta(minutes=3), booking, fee)

    def _local_amount(self, fee: int) -> tuple[int, int]:
        """(local minor units, base minor units) of a fee of `fee` euro cents."""
        minor = {"JPY": 0, "KRW": 0, "CLP": 0, "BHD": 3}.get(self.currency, 2)
        local = round(fee * self.rate * 10 ** (minor - 2))
        return max(local, 1), fee

    def payment(self, at: dt.datetime, booking: str, fee: int) -> None:
        rng = self.rng
        method, actor = rng.choice(
            (("cash", self._staff()), ("card", self._staff()), ("card", None),
             ("bank_transfer", None))
        )  # fmt: skip
        payment = self._id("payment")
        local, base = self._local_amount(fee)
        receipt = f"R-{self.code.upper()}-{int(payment):06d}"
        self._add(at, "fees.payment.succeeded", payment, {
            "subject_ref": f"booking:{booking}", "method": method, "amount_minor": local,
            "currency": self.currency, "base_amount_minor": base,
            "base_currency": self.base_currency, "rate": f"{self.rate:.6f}", "receipt": receipt,
            "business_date": self._local_date(at), "needs_refund": False,
        }, actor)  # fmt: skip
        if rng.random() < 0.03:
            self.refund(at + dt.timedelta(days=rng.uniform(1, 20)), receipt, local, base)

    def refund(self, at: dt.datetime, receipt: str, local: int, base: int) -> None:
        rng = self.rng
        note = self._id("credit_note")
        self._add(at, "fees.credit_note.requested", note,
                  {"receipt": receipt, "amount_minor": local, "currency": self.currency},
                  self._staff())  # fmt: skip
        decided = at + dt.timedelta(days=rng.uniform(0.2, 2 * self.decide_days))
        amounts = {
            "receipt": receipt, "amount_minor": local, "currency": self.currency,
            "base_amount_minor": base, "base_currency": self.base_currency,
        }  # fmt: skip
        if rng.random() < 0.25:
            self._add(decided, "fees.credit_note.rejected", note,
                      {"number": "", **amounts}, self._staff())  # fmt: skip
            return
        # the refund's ledger transaction is recorded just before the approval
        actor = self._staff()
        self._add(decided - dt.timedelta(milliseconds=1), "fees.ledger_transaction.posted",
                  self._id("ledger"), {
                      "kind": "refund", "business_date": self._local_date(decided),
                      "source_type": "credit_note", "source_id": int(note),
                      "entries": [
                          {"account": "refunds", "currency": self.currency, "amount_minor": local},
                          {"account": "cash", "currency": self.currency, "amount_minor": -local},
                      ],
                  }, actor)  # fmt: skip
        self._add(
            decided,
            "fees.credit_note.approved",
            note,
            {"number": f"CN-{self.code.upper()}-{int(note):05d}", **amounts},
            actor,
        )

    def waiver(self, at: dt.datetime, booking: str, service: str, fee: int) -> None:
        rng = self.rng
        waiver = self._id("waiver")
        local, _base = self._local_amount(fee)
        common = {"subject_ref": f"booking:{booking}", "category": "hardship",
                  "amount_minor": local, "currency": self.currency}  # fmt: skip
        self._add(
            at,
            "fees.waiver.requested",
            waiver,
            {**common, "line": int(waiver), "service": service},
            self._staff(),
        )
        decided = at + dt.timedelta(days=rng.uniform(0.1, 2 * self.decide_days))
        approved = rng.random() < 0.7
        topic = "fees.waiver.approved" if approved else "fees.waiver.rejected"
        self._add(decided, topic, waiver, common, self._staff())

    def events(self) -> list[dict[str, Any]]:
        """The events in the order the mission recorded them, numbered from 1."""
        self.availability()
        while len(self.rows) < self.quota:
            self.booking()
        # the last booking's latest events are left out when over the quota (they come later)
        rows = sorted(self.rows[: self.quota], key=lambda row: row[0])
        return [
            {
                "seq": seq, "topic": topic, "aggregate_type": kind, "aggregate_id": aggregate_id,
                "payload": payload, "version": 1, "actor_id": actor,
                "occurred_at": at.strftime(TIME_FORMAT),
            }
            for seq, (at, topic, kind, aggregate_id, payload, actor) in enumerate(rows, start=1)
        ]  # fmt: skip


def quotas(total: int, count: int, rng: random.Random) -> list[int]:
    """`total` split over `count` missions unevenly (a big post has ten times a small one's)."""
    weights = [rng.uniform(0.3, 3.0) for _ in range(count)]
    scale = total / sum(weights)
    shares = [int(weight * scale) for weight in weights]
    for index in range(total - sum(shares)):
        shares[index % count] += 1
    return shares


def batch_apply(code: str, number: int, events: list[dict[str, Any]]) -> float:
    """One batch as HQ applies a bundle (`sync.hq.apply._chain_apply`, less the signature):
    the link locked, the events into the central log by the apply's own statement, the new ones
    handed to the projectors, the link moved on; one transaction. Returns the projectors'
    seconds."""
    from django.db import connection, transaction
    from django.utils import timezone

    from sync import registry
    from sync.hq.apply import _INSERT as CENTRAL_INSERT
    from sync.hq.models import MissionLink

    with transaction.atomic():
        link = MissionLink.objects.select_for_update().get(mission=code)
        with connection.cursor() as cursor:
            cursor.execute(
                CENTRAL_INSERT, [code, number, timezone.now(), json.dumps({"events": events})]
            )
            inserted = {row[0] for row in cursor.fetchall()}
        started = time.perf_counter()
        registry.events_project(mission=code, events=[e for e in events if e["seq"] in inserted])
        projected = time.perf_counter() - started
        link.last_seq = events[-1]["seq"]
        link.last_bundle_number = number
        link.save(update_fields=["last_seq", "last_bundle_number"])
    return projected


def registers_fill(missions: list[Any], args: argparse.Namespace, events_total: int) -> None:
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from sync.hq.models import MissionLink

    rng = random.Random(args.seed)
    now = timezone.now()
    start = now - dt.timedelta(days=args.days)
    shares = quotas(events_total, len(missions), rng)
    MissionLink.objects.bulk_create(
        [MissionLink(mission=m.code) for m in missions], ignore_conflicts=True
    )
    topics: Counter[str] = Counter()
    generate = apply = project = 0.0
    done = 0
    for index, (mission, quota) in enumerate(zip(missions, shares, strict=True)):
        started = time.perf_counter()
        history = MissionHistory(
            mission=mission, index=index, quota=quota, start=start, now=now,
            rng=random.Random(args.seed * 100_003 + index),
            base_currency=settings.CONSULATE_BASE_CURRENCY,
        )  # fmt: skip
        events = history.events()
        generate += time.perf_counter() - started
        topics.update(event["topic"] for event in events)
        started = time.perf_counter()
        for number, first in enumerate(range(0, len(events), args.batch), start=1):
            project += batch_apply(mission.code, number, events[first : first + args.batch])
        apply += time.perf_counter() - started
        done += len(events)
        if (index + 1) % 50 == 0 and index + 1 < len(missions):
            rate = f"{apply:.0f} s, {done / apply:,.0f} events/s"
            print(f"  applied: {index + 1}/{len(missions)} missions, {done:,} events ({rate})")
    print(f"events generated: {done:,} over {args.days} days in {generate:.1f} s "
          f"(per mission {min(shares):,} to {max(shares):,})")  # fmt: skip
    for topic, count in sorted(topics.items(), key=lambda item: -item[1]):
        print(f"    {topic:<45} {count:>9,}")
    print(f"applied in batches of {args.batch}: {apply:.1f} s, {done / apply:,.0f} events/s "
          f"(projectors {project:.1f} s; central log, link and transaction the rest)")  # fmt: skip

    # last contact: most within the last 20 minutes, one in twelve silent for hours or days
    links = []
    for mission in missions:
        silent = rng.random() < 1 / 12
        minutes = rng.uniform(90, 4 * 1440) if silent else rng.uniform(0, 20)
        links.append((mission.code, now - dt.timedelta(minutes=minutes)))
    for code, at in links:
        MissionLink.objects.filter(mission=code).update(last_contact_at=at)
    silent_count = sum(1 for _code, at in links if now - at > dt.timedelta(minutes=60))
    print(f"last contact set: {silent_count} of {len(missions)} missions silent for over an hour")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"VACUUM ANALYZE (as autovacuum would have): {time.perf_counter() - started:.1f} s")
    register_sizes()


def register_sizes() -> None:
    from django.db import connection

    tables = (
        "sync_hq_centralevent", "appointments_register_registeredbooking",
        "appointments_register_bookingday", "appointments_register_bookingmonth",
        "appointments_register_serviceavailability", "missions_register_registeredcase",
        "missions_register_caseday", "missions_register_casemonth",
        "missions_register_staffactivityday", "fees_register_revenueposting",
        "fees_register_revenueday", "fees_register_revenuemonth", "sync_hq_skippedevent",
    )  # fmt: skip
    with connection.cursor() as cursor:
        sizes = []
        for table in tables:
            cursor.execute(f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}")
            rows, size = cursor.fetchone()
            sizes.append(f"{table} {rows:,} ({size / 1e6:.0f} MB)")
    print("rows: " + "; ".join(sizes))


# --- the requests ---------------------------------------------------------------------------------


def clients() -> dict[str, Any]:
    from allauth.mfa.totp.internal.auth import TOTP
    from django.conf import settings
    from django.test import Client

    from consulate.kernel.accounts.models import HqRole, User

    email = "analyst@example.org"
    analyst = User.objects.filter(email=email).first()
    if analyst is None:
        analyst = User.objects.create_user(
            email=email,
            password="bench-password",  # noqa: S106  # a throwaway database's account
            hq_role=HqRole.ANALYST,
        )
        TOTP.activate(analyst, "JBSWY3DPEHPK3PXP")
    client = Client(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(analyst, backend="missions.auth.ModelBackend")
    client.cookies["django_language"] = "en"
    anonymous = Client(HTTP_HOST=settings.PORTAL_HOST)
    anonymous.cookies["django_language"] = "en"
    return {"analyst": client, "anonymous": anonymous}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def page_measure(send: Callable[[], Any], before: Callable[[], None],
                 requests: int) -> dict[str, Any]:  # fmt: skip
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):  # warm: templates compiled, the session read, the first plans
        before()
        response = send()
        assert response.status_code == 200, response.status_code
    before()
    # the log is capped (9,000 entries) and counted by position: a full one would count nothing
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as queries:
        response = send()
    statements = list(queries.captured_queries)  # a view of the log: read it now
    size = len(response.content)
    timings, cpu = [], []
    for _ in range(requests):
        before()
        started, started_cpu = time.perf_counter(), time.process_time()
        response = send()
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200
    slowest = max(statements, key=lambda q: float(q["time"])) if statements else None
    return {
        "statements": len(statements),
        "set_path": sum(1 for q in statements if q["sql"].startswith("SET search_path")),
        "sql_ms": sum(float(q["time"]) for q in statements) * 1000,
        "slowest_ms": float(slowest["time"]) * 1000 if slowest else 0.0,
        "slowest_sql": " ".join(slowest["sql"].split())[:160] if slowest else "",
        "p50": statistics.median(timings),
        "p90": _percentile(timings, 0.9),
        "p99": _percentile(timings, 0.99),
        "cpu": statistics.median(cpu),
        "bytes": size,
    }


def pages_measure(args: argparse.Namespace, code: str) -> dict[str, dict[str, Any]]:
    from django.core.cache import cache

    people = clients()
    results = {}
    print(f"{args.requests} requests per page after 3 warm-up requests, in-process "
          f"(Django's full handler); ms of wall clock on a shared machine")  # fmt: skip
    print(f"{'page':<18} {'path':<46} {'stmts':>5} {'SET':>4} {'p50':>7} {'p90':>7} "
          f"{'p99':>7} {'CPU p50':>8} {'SQL':>7} {'slowest':>8} {'KB':>6}")  # fmt: skip
    for label, template, who, cold in PAGES:
        path = template.format(code=code)
        client = people[who]

        def send(client: Any = client, path: str = path) -> Any:
            return client.get(path)

        before = cache.clear if cold else (lambda: None)
        result = page_measure(send, before, args.requests)
        results[label] = result
        print(f"{label:<18} {path[:46]:<46} {result['statements']:>5} {result['set_path']:>4} "
              f"{result['p50']:>7.1f} {result['p90']:>7.1f} {result['p99']:>7.1f} "
              f"{result['cpu']:>8.1f} {result['sql_ms']:>7.1f} {result['slowest_ms']:>8.1f} "
              f"{result['bytes'] / 1024:>6.0f}", flush=True)  # fmt: skip
    print("slowest statement of each page (one request):")
    for label, result in results.items():
        print(f"  {label:<18} {result['slowest_ms']:>7.1f} ms  {result['slowest_sql']}")
    if args.profile:
        profile(args, people, code)
    return results


def profile(args: argparse.Namespace, people: dict[str, Any], code: str) -> None:
    from django.core.cache import cache

    label, template, who, cold = next(page for page in PAGES if page[0] == args.profile)
    path, client = template.format(code=code), people[who]
    profiler = cProfile.Profile()
    for _ in range(max(10, args.requests // 5)):
        if cold:
            cache.clear()
        profiler.enable()
        client.get(path)
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(20)
    print(f"cProfile of {label} ({path}):")
    print(out.getvalue())


# --- exactness ------------------------------------------------------------------------------------


def register_models() -> list[Any]:
    from appointments.register.models import (
        BookingDay,
        BookingMonth,
        RegisteredBooking,
        ServiceAvailability,
    )
    from fees.register.models import RevenueDay, RevenueMonth, RevenuePosting
    from missions.register.models import (
        CaseDay,
        CaseMonth,
        RegisteredCase,
        StaffActivityDay,
    )

    return [BookingDay, BookingMonth, RegisteredBooking, ServiceAvailability, CaseDay, CaseMonth,
            RegisteredCase, StaffActivityDay, RevenueDay, RevenueMonth, RevenuePosting]  # fmt: skip


def register_rows(code: str) -> dict[str, Counter[tuple[Any, ...]]]:
    """Every row of the mission's registers, without the surrogate id (a rebuild renumbers)."""
    out = {}
    for model in register_models():
        fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
        rows = model._default_manager.filter(mission=code).values_list(*fields)
        out[model.__name__] = Counter(
            tuple(json.dumps(v, sort_keys=True) if isinstance(v, dict) else v for v in row)
            for row in rows
        )
    return out


def exactness_check(codes: list[str]) -> bool:
    """Each sampled mission's registers built again from HQ's central log and compared with
    what the incremental batches left; prints "exact" or the differences."""
    from sync.registry import registers_rebuild

    exact = True
    for code in codes:
        before = register_rows(code)
        started = time.perf_counter()
        read = registers_rebuild(mission=code)
        seconds = time.perf_counter() - started
        after = register_rows(code)
        rows = sum(sum(counter.values()) for counter in before.values())
        differences = []
        for name in before:
            missing, extra = before[name] - after[name], after[name] - before[name]
            if missing or extra:
                differences.append(f"{name}: {sum(missing.values())} rows only incremental "
                                   f"(e.g. {next(iter(missing), None)}), {sum(extra.values())} "
                                   f"only rebuilt (e.g. {next(iter(extra), None)})")  # fmt: skip
        verdict = "exact" if not differences else "DIFFERENT"
        print(f"  {code}: {rows:,} register rows; rebuilt from {sum(read.values()):,} events "
              f"read (by the projectors together) in {seconds:.1f} s: {verdict}")  # fmt: skip
        for line in differences:
            print(f"    {line}")
        exact = exact and not differences
    return exact


# --- a run ----------------------------------------------------------------------------------------


def database_switch(name: str, *, recreate: bool) -> None:
    """Point the process's connection at another benchmark database (after `database_start`)."""
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection

    from consulate.kernel.crypto.envelope import clear_key_cache

    connection.close()
    if recreate:
        recreate_database(bench_database_url(name), name)
    connection.settings_dict["NAME"] = name
    settings.DATABASES["default"]["NAME"] = name
    cache.clear()
    # each database has its own data keys, under the same schema names
    clear_key_cache()


def level_run(args: argparse.Namespace, *, name: str, prefix: str, missions: int,
              events: int, reuse: bool) -> dict[str, dict[str, Any]]:  # fmt: skip
    from django.db.models import Count

    from missions.models import Mission, MissionKind
    from sync.hq.models import CentralEvent

    print()
    print(f"=== {missions} missions, {events:,} events: database {name} ===")
    _sync.run_describe(name, recreated=not reuse)
    if reuse:
        made = list(Mission.objects.exclude(kind=MissionKind.HEADQUARTERS).order_by("code"))
        print(f"reusing {len(made)} missions and {CentralEvent.objects.count():,} events")
    else:
        started = time.perf_counter()
        _sync.migrate_all()
        print(f"migrate_all: {time.perf_counter() - started:.1f} s")
        made = missions_create(prefix, missions)
        registers_fill(made, args, events)
    biggest = CentralEvent.objects.values("mission").annotate(n=Count("id")).order_by("-n").first()
    code = biggest["mission"] if biggest else made[0].code
    print(f"mission page measured: {code} (the most events)")
    print(f"load average before the requests: {_sync.load_text()}")
    results = pages_measure(args, code)
    print(f"load average after the requests: {_sync.load_text()}")
    rng = random.Random(args.seed)
    others = [m.code for m in made if m.code != code]
    sample = [code, *rng.sample(others, min(EXACT_SAMPLE - 1, len(others)))]
    print(f"exactness: {len(sample)} missions' registers rebuilt from the central log")
    if not exactness_check(sample):
        print("NOT EXACT: the incremental registers differ from a rebuild (above)")
    return results


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    small = None
    if args.compare_small:
        small_name = f"{args.database}_small"[:63]
        _sync.database_start(small_name, recreate=not args.reuse)
        per_mission = args.events // args.missions
        small = level_run(args, name=small_name, prefix="s", missions=SMALL_MISSIONS,
                          events=per_mission * SMALL_MISSIONS, reuse=args.reuse)  # fmt: skip
        database_switch(args.database, recreate=not args.reuse)
    else:
        _sync.database_start(args.database, recreate=not args.reuse)
    big = level_run(args, name=args.database, prefix="m", missions=args.missions,
                    events=args.events, reuse=args.reuse)  # fmt: skip
    if small is not None:
        print()
        print(f"statements per request: {SMALL_MISSIONS} missions against {args.missions}")
        for label, result in big.items():
            same = "same" if small[label]["statements"] == result["statements"] else "GROWS"
            before, after = small[label], result
            print(f"  {label:<18} {before['statements']:>4} {after['statements']:>4}  {same}; "
                  f"p50 {before['p50']:.1f} ms against {after['p50']:.1f} ms")  # fmt: skip
    over = [label for label, result in big.items() if result["p50"] >= 300]
    print()
    slow_p90 = ", ".join(label for label, result in big.items() if result["p90"] >= 300)
    verdict = "met by every page" if not over else "missed by " + ", ".join(over)
    print(f"target (under 300 ms): {verdict} at p50; p90 over 300 ms: {slow_p90 or 'none'}")
    print(f"total run time {time.perf_counter() - started:.0f} s; load average {_sync.load_text()}")


if __name__ == "__main__":
    main()
