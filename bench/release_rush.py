"""Benchmark: a release-moment booking rush, steady booking against pgbench, pages under load, the
lottery's fairness and the rate limits, in one run through gunicorn.

    .venv/bin/python bench/release_rush.py [--clients 32] [--slots 1000] [--seconds 20]
        [--rush-clients 200] [--rush-places 50] [--rush-lead 10] [--rush-rounds 3]
        [--page-clients 200] [--page-seconds 20] [--page-requests 2000]
        [--lottery-clients 200] [--worker-class gthread] [--workers 3] [--threads 2]
        [--keep-alive 75] [--cache-url redis://127.0.0.1:6379/9]
        [--database-url postgres://postgres@127.0.0.1:5432/consulate]
        [--database consulate_bench_rush]

It works in its own database (dropped and created again) on the server of `--database-url`
(or DATABASE_URL; the embedded PostgreSQL when both are unset). The web server is gunicorn with
bench/booking_settings.py; the load comes from ONE separate process (bench/_http.py: asyncio,
raw keep-alive HTTP/1.1), whose own CPU seconds are printed next to every scenario, with the
gunicorn processes' CPU (from /proc) and the machine's busy share. Scenarios:

1. pgbench: the same-shape booking transaction (bench/booking.py) over `--slots` hot rows with
   `--clients` clients for `--seconds`.
2. Steady booking in pgbench's shape: `--clients` clients book `--slots` hot slots of a service
   on `--shape-counters` desks of its own (that many places a slot, so none fills during the
   run and every request books, as every pgbench transaction does) for `--seconds`;
   bookings/s against pgbench's tps of this run (target 0.10, aim 0.20).
   2b. Steady booking until full: `--clients` clients book `--slots` hot slots of 2 places
   until every place is taken. Each slot's last place is usually followed by a "full" refusal
   (a client learns a slot is full only from that answer), about a third of the requests,
   which pgbench's shape never meets: its ratio is printed, not judged.
3. The rush: `--rush-rounds` releases one after the other, each of `--rush-places` slots of a
   scheduled-release service (one counter: one place each) released at its T0
   (`bookable_from`) to `--rush-clients` clients of its own, each its own account and keep-alive
   connection (opened and warmed before); a loser tries another slot not yet known to be
   full, a winner stops. Per release: time from T0 to the last place, p50/p99, the first wave
   against the later requests, 5xx, whether every loser was answered "full" and how many "full"
   answers carry `next_release`; the p99 judged is over every release's requests (one release
   is a burst of half a second: a small sample, which one slow moment of the machine decides).
4. Pages: `--page-clients` signed-in clients on the mission home, /appointments/availability.json
   and /api/v1/appointments/availability/, then as many visitors who are not signed in (no
   cookie) on the mission home; each for at least `--page-seconds`, and on until
   `--page-requests` requests are done or twice `--page-seconds` have passed.
5. Lottery: `--lottery-clients` clients enter a draw through its page, half at once, half after
   a random delay; then the draw. Prints the winners' mean arrival rank against the expected,
   a rank-sum test (normal approximation) and the win rates of the fast and the slow half.
6. Rate limits: the per-address limit is lifted for loopback only (bench/booking_settings.py,
   APPOINTMENTS_RATE_LIMIT_EXEMPT_ADDRESSES); one account hammering the booking endpoint must
   still be refused (429) once its own budget is spent.

Ends with a table of every target, PASS or FAIL; exits non-zero on an oversold slot or any 5xx.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.booking_settings")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._http import client_run  # noqa: E402
from bench._server import CpuMeter, server_arguments, server_start, server_stop  # noqa: E402
from bench.booking import (  # noqa: E402
    MISSION,
    accounts_create,
    accounts_needed,
    book_budget,
    hot_slot_ids,
    mission_setup,
    oversold,
    percentile,
    run_pgbench,
    steady_booking,
)
from bench.mission_create import (  # noqa: E402
    bench_database_url,
    cpu_probe_ms,
    machine_description,
    recreate_database,
)

HOST = f"{MISSION}.localhost"
# (path, signed in)
PAGES = [
    ("/", True),
    ("/appointments/availability.json", True),
    ("/api/v1/appointments/availability/", True),
    ("/", False),
]
FULL = "appointments.slot_full"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32, help="steady booking and pgbench")
    parser.add_argument("--slots", type=int, default=1000, help="steady hot slots (capacity 2)")
    parser.add_argument(
        "--seconds", type=int, default=20, help="pgbench's and the same-shape booking's duration"
    )
    parser.add_argument(
        "--shape-counters", type=int, default=30, help="desks (places per slot), same-shape run"
    )
    parser.add_argument("--rush-clients", type=int, default=200)
    parser.add_argument("--rush-places", type=int, default=50)
    parser.add_argument("--rush-lead", type=float, default=10.0, help="seconds from set-up to T0")
    parser.add_argument(
        "--rush-rounds",
        type=int,
        default=3,
        help="releases, one after the other, each with its own places and clients; the p99 is"
        " over all their requests (one release is a burst of half a second: a small sample)",
    )
    parser.add_argument("--page-clients", type=int, default=200)
    parser.add_argument("--page-seconds", type=float, default=20.0)
    parser.add_argument("--page-requests", type=int, default=2000)
    parser.add_argument("--lottery-clients", type=int, default=200)
    parser.add_argument("--database", default="consulate_bench_rush")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", ""),
        help="the PostgreSQL server (only its database name is replaced by --database)",
    )
    server_arguments(parser)
    args = parser.parse_args()
    if not args.database.replace("_", "").isalnum() or args.database == "consulate":
        parser.error("--database must be a plain name other than the project database")
    return args


class Summary:
    """Every target with its figure and PASS/FAIL (INFO for a figure without a target)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def check(self, target: str, figure: str, ok: bool | None) -> None:
        self.rows.append((target, figure, "INFO" if ok is None else "PASS" if ok else "FAIL"))

    def print(self) -> None:
        width = max(len(target) for target, _, _ in self.rows)
        print()
        print("Summary")
        for target, figure, verdict in self.rows:
            print(f"  {verdict:<4}  {target:<{width}}  {figure}")


def cpu_line(result: dict[str, Any], meter: dict[str, float]) -> str:
    return (
        f"  CPU: load client {result['cpu_s']:.1f} s; gunicorn {meter['server_cpu_s']:.1f} s;"
        f" machine busy {meter['machine_busy_pct']:.0f}% of {os.cpu_count()} cores;"
        f" 1-minute load {meter['load1']:.2f}"
    )


def measured(server_pid: int, spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, float]]:
    meter = CpuMeter(server_pid)
    result = client_run(spec)
    return result, meter.read()


def fives(statuses: dict[str, int]) -> int:
    return sum(count for status, count in statuses.items() if status.startswith("5"))


SHAPE_SERVICE = "renewal"


def same_shape_setup(counters: int) -> Any:
    """A service on `counters` desks of its own: each slot has that many places, so that its hot
    slots do not fill during the run, as pgbench's rows never do."""
    from django_tenants.utils import schema_context

    from appointments import services
    from consulate.kernel.actors import SYSTEM

    with schema_context(MISSION):
        desks = [
            services.counter_create(name=f"Hall desk {n}", acting_user=SYSTEM)
            for n in range(1, counters + 1)
        ]
        service = services.service_create(
            code=SHAPE_SERVICE, name="Passport renewal", counters=desks, acting_user=SYSTEM,
            duration_minutes=15, horizon_days=180, min_notice_hours=0, cancel_cutoff_hours=0,
            max_persons=1,
        )  # fmt: skip
        services.slot_generate(service=service, acting_user=SYSTEM)
    return service


def steady_report(
    summary: Summary,
    label: str,
    result: dict[str, Any],
    cpu: dict[str, float],
    bench: dict[str, float],
    *,
    judged: bool,
) -> int:
    """Print a steady booking run and add its rows to the summary; return its 5xx count. Only
    the run in pgbench's shape is judged against the ratio's target."""
    booked = result["statuses"].get("201", 0)
    rate = booked / result["elapsed_s"]
    ratio = rate / bench["tps"]
    lat = result["latencies_ms"]
    five = fives(result["statuses"])
    refused = result["codes"].get(FULL, 0)
    print(
        f"  {booked} bookings in {result['elapsed_s']:.1f} s = {rate:.1f} bookings/s;"
        f" {len(lat)} requests ({100 * refused / max(1, len(lat)):.0f}% answered 'full');"
        f" statuses {result['statuses']}; answers {result['codes']}"
    )
    print(f"  latency p50 {percentile(lat, 0.5):.0f} ms, p99 {percentile(lat, 0.99):.0f} ms")
    print(f"  ratio bookings/s : pgbench tps = {ratio:.3f}")
    print(cpu_line(result, cpu) + f"; gunicorn {1000 * cpu['server_cpu_s'] / max(1, len(lat)):.1f}"
          " ms per request")  # fmt: skip
    out_of_accounts = sum(1 for c in result["clients"] if c["ran_out_of_accounts"])
    gave_up = sum(1 for c in result["clients"] if c["gave_up"])
    if out_of_accounts or gave_up:
        print(
            f"  WARNING: {out_of_accounts} clients ran out of accounts, {gave_up} gave up"
            " after repeated refusals (neither booked nor 'full')"
        )
    target = "bookings/s : pgbench tps >= 0.10 (aim 0.20)" if judged else "bookings/s : tps"
    summary.check(
        f"{label}: {target}",
        f"{ratio:.3f} ({rate:.1f}/s : {bench['tps']:.0f} tps; {refused} 'full' of {len(lat)})",
        ratio >= 0.10 if judged else None,
    )
    summary.check(
        f"{label}: ran >= 20 s or >= 2,000 requests",
        f"{result['elapsed_s']:.1f} s, {len(lat)} requests",
        result["elapsed_s"] >= 20 or len(lat) >= 2000,
    )
    summary.check(
        f"{label}: p50 / p99",
        f"{percentile(lat, 0.5):.0f} / {percentile(lat, 0.99):.0f} ms",
        None,
    )
    summary.check(f"{label}: no 5xx", str(five), five == 0)
    if judged:  # the shape holds only while hardly any slot fills (else raise --shape-counters)
        summary.check(
            f"{label}: at most 1% answered 'full'",
            f"{refused} of {len(lat)}",
            refused <= len(lat) / 100,
        )
    return five


def rush_setup(desk: Any, places: int) -> tuple[Any, list[int]]:
    """A scheduled-release service on one counter (one place per slot) and the `places` slots,
    at least two days ahead, that the rush releases."""
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from appointments import services
    from appointments.models import ReleaseMode, Slot
    from consulate.kernel.actors import SYSTEM

    with schema_context(MISSION):
        service = services.service_create(
            code="rush", name="Passport (released in batches)", counters=[desk],
            acting_user=SYSTEM, duration_minutes=15, horizon_days=60, min_notice_hours=0,
            cancel_cutoff_hours=0, max_persons=1, release_mode=ReleaseMode.SCHEDULED,
        )  # fmt: skip
        services.slot_generate(service=service, acting_user=SYSTEM)
        after = timezone.now() + dt.timedelta(days=2)
        slots = list(
            Slot.objects.filter(service=service, starts_at__gt=after)
            .order_by("starts_at")
            .values_list("pk", flat=True)[:places]
        )
    return service, slots


def rush_release(slots: list[int], t0: float) -> None:
    """The batch is released at t0. (The bench sets `bookable_from` itself: no service releases
    one batch at a chosen second.)"""
    from django_tenants.utils import schema_context

    from appointments.models import Slot

    with schema_context(MISSION):
        Slot.objects.filter(pk__in=slots).update(
            bookable_from=dt.datetime.fromtimestamp(t0, dt.UTC)
        )


def rush_booked_spread(slots: list[int], t0: float) -> tuple[int, float | None]:
    """(active bookings in the batch, seconds from t0 to the last one's commit time)."""
    from django.db.models import Max
    from django_tenants.utils import schema_context

    from appointments.models import Booking

    with schema_context(MISSION):
        bookings = Booking.objects.filter(slot_id__in=slots, status="active")
        last = bookings.aggregate(last=Max("created_at"))["last"]
        return bookings.count(), (last.timestamp() - t0) if last else None


def rush_round(
    args: argparse.Namespace,
    server_pid: int,
    *,
    slots: list[int],
    accounts: list[list[str]],
    number: int,
) -> dict[str, Any]:
    """One release: `slots` released at T0 (`--rush-lead` ahead) to `accounts`, one client each
    on a keep-alive connection opened and warmed before. Prints the release's figures and
    returns them."""
    t0 = time.time() + args.rush_lead
    rush_release(slots, t0)
    # the server's CPU from T0 on: the connections' warming before it is not the rush's
    at_t0: list[CpuMeter] = []
    timer = threading.Timer(t0 - time.time(), lambda: at_t0.append(CpuMeter(server_pid)))
    timer.start()
    rush = client_run({
        "kind": "book", "port": args.port, "host": HOST, "service": "rush",
        "slots": slots, "clients": len(accounts), "accounts": accounts,
        "one_each": True, "t0": t0, "doc_prefix": f"R{number}X",
        "warm_path": "/api/v1/appointments/services/",
    })  # fmt: skip
    timer.join()
    rush_cpu = at_t0[0].read()
    lat = rush["latencies_ms"]
    taken, last_commit = rush_booked_spread(slots, t0)
    losers = [c for c in rush["clients"] if "booked" not in c["answers"]]
    gave_up = sum(1 for c in rush["clients"] if c["gave_up"])
    losers_full = sum(1 for c in losers if c["answers"] and set(c["answers"]) == {FULL})
    full_answers = rush["codes"].get(FULL, 0)
    last = rush["last_booked_s"]
    print(
        f"  release {number + 1}: connections warmed by T0{rush['warm_last_s']:+.2f} s; first"
        f" request sent at T0{rush['first_sent_s']:+.3f} s"
    )
    print(
        f"  {taken} of {len(slots)} places taken; last place answered at"
        f" T0+{last if last is not None else float('nan'):.2f} s (committed at"
        f" T0+{last_commit if last_commit is not None else float('nan'):.2f} s);"
        f" all done at T0+{rush['elapsed_s']:.2f} s"
    )
    print(
        f"  {len(lat)} requests, statuses {rush['statuses']}, answers {rush['codes']};"
        f" p50 {percentile(lat, 0.5):.0f} ms, p99 {percentile(lat, 0.99):.0f} ms"
    )
    # the first wave (sent at T0, queued behind each other) against everything sent later
    first = [r[1] * 1000 for r in rush["records"] if r[0] - t0 < 0.1]
    later = [r[1] * 1000 for r in rush["records"] if r[0] - t0 >= 0.1]
    print(
        f"  sent within 0.1 s of T0: {len(first)}, p50 {percentile(first, 0.5):.0f} ms, max"
        f" {max(first, default=0):.0f} ms; sent later: {len(later)}, max"
        f" {max(later, default=0):.0f} ms"
    )
    print(
        f"  losers {len(losers)}: {losers_full} answered only 'full';"
        f" 'full' answers carrying next_release: {rush['full_with_next_release']} of"
        f" {full_answers}; clients that gave up after repeated other refusals: {gave_up}"
    )
    print(
        f"{cpu_line(rush, rush_cpu)} (gunicorn's and the machine's from T0, the client's with"
        f" its warming; from T0 {rush['cpu_from_t0_s']:.2f} s); gunicorn"
        f" {1000 * rush_cpu['server_cpu_s'] / max(1, len(lat)):.1f} ms per request"
    )
    return {
        "latencies_ms": lat,
        "p99": percentile(lat, 0.99),
        "fives": fives(rush["statuses"]),
        "losers": len(losers),
        "losers_full": losers_full,
        "full_answers": full_answers,
        "full_with_next_release": rush["full_with_next_release"],
        "taken": taken,
        "last": last,
        "warm_last_s": rush["warm_last_s"],
    }


def lottery_setup(desk: Any) -> tuple[Any, int]:
    """A lottery service on one counter and an open round for the day three days ahead (40
    places); returns (round, places)."""
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from appointments import services
    from appointments.models import ReleaseMode, Slot
    from consulate.kernel.actors import SYSTEM
    from missions.selectors import current_mission

    with schema_context(MISSION):
        service = services.service_create(
            code="visa", name="Visa submission", counters=[desk], acting_user=SYSTEM,
            duration_minutes=15, horizon_days=60, min_notice_hours=0, cancel_cutoff_hours=0,
            max_persons=1, release_mode=ReleaseMode.LOTTERY,
        )  # fmt: skip
        services.slot_generate(service=service, acting_user=SYSTEM)
        now = timezone.now()
        day = (now.astimezone(current_mission().zone) + dt.timedelta(days=3)).date()
        lottery_round = services.lottery_round_create(
            service=service, period_start=day, period_end=day,
            window_opens_at=now - dt.timedelta(minutes=5),
            window_closes_at=now + dt.timedelta(hours=2), acting_user=SYSTEM,
        )  # fmt: skip
        places = sum(
            s.capacity - s.booked
            for s in Slot.objects.filter(service=service)
            if s.starts_at.astimezone(current_mission().zone).date() == day
        )
    return lottery_round, places


def lottery_fairness(lottery_round: Any, fast: set[int]) -> dict[str, Any]:
    """Draw, then compare arrival order (the entries' commit times) with the outcome."""
    from django_tenants.utils import schema_context

    from appointments import lottery as draw
    from appointments.models import LotteryEntry
    from appointments.services import lottery_draw
    from consulate.kernel.actors import SYSTEM

    with schema_context(MISSION):
        drawn = lottery_draw(
            lottery_round=lottery_round, acting_user=SYSTEM, now=lottery_round.window_closes_at
        )
        entries = list(LotteryEntry.objects.filter(round=drawn).order_by("created_at", "pk"))
    tickets_by_rank = [e.ticket for e in sorted(entries, key=lambda e: e.rank or 0)]
    reproducible = tickets_by_rank == draw.draw_order(drawn.seed, [e.ticket for e in entries])
    n = len(entries)
    winners = [arrival for arrival, e in enumerate(entries, start=1) if e.booking_id]
    w = len(winners)
    expected = (n + 1) / 2
    # Wilcoxon rank-sum of the winners' arrival ranks (no ties: the ranks are 1..n)
    variance = w * (n - w) * (n + 1) / 12
    z = (sum(winners) - w * expected) / math.sqrt(variance) if variance else 0.0
    p_rank = math.erfc(abs(z) / math.sqrt(2))
    client = {e.pk: int(e.email.split("@")[0].removeprefix("lottery")) for e in entries}
    fast_entries = [e for e in entries if client[e.pk] in fast]
    slow_entries = [e for e in entries if client[e.pk] not in fast]
    fast_won = sum(1 for e in fast_entries if e.booking_id)
    slow_won = sum(1 for e in slow_entries if e.booking_id)
    # 2x2 chi-square (fast/slow x won/lost), one degree of freedom
    chi2 = 0.0
    for group, won in ((fast_entries, fast_won), (slow_entries, slow_won)):
        for observed, share in ((won, w / n), (len(group) - won, (n - w) / n)):
            want = len(group) * share
            chi2 += (observed - want) ** 2 / want if want else 0.0
    p_groups = math.erfc(math.sqrt(chi2 / 2))
    first = sum(1 for arrival in winners if arrival <= w)
    return {
        "entries": n, "winners": w, "mean_rank": sum(winners) / w if w else 0.0,
        "expected_rank": expected, "z": z, "p_rank": p_rank, "fast": len(fast_entries),
        "fast_won": fast_won, "slow": len(slow_entries), "slow_won": slow_won, "chi2": chi2,
        "p_groups": p_groups, "first_w_won": first, "first_w_expected": w * w / n if n else 0.0,
        "reproducible": reproducible,
    }  # fmt: skip


def main() -> None:
    args = parse_args()
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
        os.environ["BENCH_EXTERNAL_DB"] = "1"  # so that machine_description says DATABASE_URL
    url = bench_database_url(args.database)
    recreate_database(url, args.database)
    os.environ["DATABASE_URL"] = url
    if args.cache_url:
        os.environ["CACHE_URL"] = args.cache_url  # sessions go where the server reads them

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from appointments.ratelimit import DEFAULT_LIMITS

    summary = Summary()
    print(f"Database {args.database} (dropped and created again)")
    for line in machine_description():
        print(line)
    print(f"1-minute load average at the start: {os.getloadavg()[0]:.2f}")
    print(f"CPU probe at the start: {cpu_probe_ms():.0f} ms (a fixed Python loop, best of 3)")
    print(
        f"gunicorn {args.worker_class}, {args.workers} workers x {args.threads} threads,"
        f" keep-alive {args.keep_alive} s; settings {os.environ['DJANGO_SETTINGS_MODULE']};"
        f" cache {settings.CACHES['default']['BACKEND']}"
        f" {settings.CACHES['default'].get('LOCATION', '')}; sessions {settings.SESSION_ENGINE}"
    )
    limit = getattr(settings, "APPOINTMENTS_RATE_LIMITS", {}).get("book", DEFAULT_LIMITS["book"])
    exempt = getattr(settings, "APPOINTMENTS_RATE_LIMIT_EXEMPT_ADDRESSES", [])
    print(
        f"Rate limits: the per-address limit is LIFTED for {', '.join(exempt) or 'nobody'}"
        " (APPOINTMENTS_RATE_LIMIT_EXEMPT_ADDRESSES in bench/booking_settings.py: every bench"
        f" client comes from loopback); the per-account limit holds: book {limit[0]} per"
        f" {limit[1]} s"
    )
    started = time.time()
    call_command("migrate_all", verbosity=0)
    _mission, service, desks = mission_setup()
    hot = hot_slot_ids(service, args.slots)
    budget = book_budget()
    steady_accounts = accounts_create(
        "steady",
        accounts_needed(clients=args.clients, places=2 * len(hot), slots=len(hot), budget=budget),
    )
    shape_service = same_shape_setup(args.shape_counters)
    shape_hot = hot_slot_ids(shape_service, args.slots)
    # enough accounts for 600 bookings/s, every account spending its budget
    shape_accounts = accounts_create("shape", args.clients + -(-600 * args.seconds // budget))
    _rush_service, rush_slots = rush_setup(desks[0], args.rush_places * args.rush_rounds)
    rush_accounts = accounts_create("rush", args.rush_clients * args.rush_rounds)
    lottery_round, lottery_places = lottery_setup(desks[1])
    lottery_accounts = accounts_create("lottery", args.lottery_clients)
    (hammer_account,) = accounts_create("hammer", 1)
    print(
        f"Set up in {time.time() - started:.0f} s: {len(shape_hot)} same-shape hot slots x"
        f" {args.shape_counters} places, {len(shape_accounts)} accounts;"
        f" {len(hot)} steady hot slots x 2 places,"
        f" {len(steady_accounts)} steady accounts ({budget} booking requests each);"
        f" {len(rush_slots)} rush slots x 1 place, {len(rush_accounts)} rush accounts;"
        f" a lottery of {lottery_places} places for {len(lottery_accounts)} accounts"
    )

    print("\n1. pgbench, the same-shape booking transaction")
    bench = run_pgbench(slots=len(hot), clients=args.clients, seconds=args.seconds)
    print(
        f"  {bench['tps']:.1f} tps, latency avg {bench['latency_ms']:.2f} ms ({args.clients}"
        f" clients, {len(hot)} hot rows, {args.seconds} s); 1-minute load"
        f" {os.getloadavg()[0]:.2f}"
    )
    connections.close_all()
    server = server_start(args, url, ready_host=HOST)
    all_fives = 0
    try:
        print(
            f"\n2. Steady booking in pgbench's shape: {args.clients} clients,"
            f" {len(shape_hot)} slots x {args.shape_counters} places, {args.seconds} s"
        )
        meter = CpuMeter(server.pid)
        shape = client_run({
            "kind": "book", "port": args.port, "host": HOST, "service": SHAPE_SERVICE,
            "slots": shape_hot, "clients": args.clients, "accounts": shape_accounts,
            "budget": budget, "doc_prefix": "P", "seconds": args.seconds,
        })  # fmt: skip
        all_fives += steady_report(
            summary, "steady, pgbench's shape", shape, meter.read(), bench, judged=True
        )

        print(f"\n2b. Steady booking until full: {args.clients} clients, {2 * len(hot)} places")
        meter = CpuMeter(server.pid)
        steady = steady_booking(args, steady_accounts, hot, doc_prefix="S")
        all_fives += steady_report(
            summary, "steady until full", steady, meter.read(), bench, judged=False
        )

        print(
            f"\n3. The rush: {args.rush_rounds} release(s), each of {args.rush_places} places to"
            f" {args.rush_clients} clients of their own at T0"
        )
        rounds = [
            rush_round(
                args, server.pid,
                slots=rush_slots[n * args.rush_places : (n + 1) * args.rush_places],
                accounts=rush_accounts[n * args.rush_clients : (n + 1) * args.rush_clients],
                number=n,
            )
            for n in range(args.rush_rounds)
        ]  # fmt: skip
        lat = [latency for one in rounds for latency in one["latencies_ms"]]
        rush_fives = sum(one["fives"] for one in rounds)
        all_fives += rush_fives
        losers = sum(one["losers"] for one in rounds)
        losers_full = sum(one["losers_full"] for one in rounds)
        full_answers = sum(one["full_answers"] for one in rounds)
        with_release = sum(one["full_with_next_release"] for one in rounds)
        taken = sum(one["taken"] for one in rounds)
        lasts = [one["last"] for one in rounds]
        last = None if None in lasts else max(lasts)  # type: ignore[type-var]
        warm = max(one["warm_last_s"] if one["warm_last_s"] is not None else 99 for one in rounds)
        if args.rush_rounds > 1:
            each = ", ".join(f"{one['p99']:.0f}" for one in rounds)
            print(
                f"  all {args.rush_rounds} releases: {len(lat)} requests; p50"
                f" {percentile(lat, 0.5):.0f} ms, p99 {percentile(lat, 0.99):.0f} ms; each"
                f" release's p99 {each} ms"
            )
        summary.check(
            "rush: connections warmed before T0 (else raise --rush-lead)",
            f"T0{warm:+.2f} s (the latest of {args.rush_rounds})",
            warm <= 0,
        )
        summary.check(
            "rush: every place taken within 2 s of T0",
            f"{taken}/{args.rush_rounds * args.rush_places} by T0+"
            f"{last if last is not None else float('nan'):.2f} s",
            taken == args.rush_rounds * args.rush_places and last is not None and last <= 2.0,
        )
        summary.check(
            "rush: p99 < 300 ms",
            f"p50 {percentile(lat, 0.5):.0f} ms, p99 {percentile(lat, 0.99):.0f} ms"
            f" ({len(lat)} requests, {args.rush_rounds} releases)",
            percentile(lat, 0.99) < 300,
        )
        summary.check("rush: no 5xx", str(rush_fives), rush_fives == 0)
        summary.check(
            "rush: every loser answered 'full'",
            f"{losers_full} of {losers}",
            losers_full == losers,
        )
        summary.check(
            "rush: 'full' answers with next_release",
            f"{with_release} of {full_answers}",
            None if full_answers == 0 else with_release == full_answers,
        )

        print(f"\n4. Pages: {args.page_clients} clients per path")
        for path, signed_in in PAGES:
            who = "signed in" if signed_in else "not signed in"
            meter = CpuMeter(server.pid)
            page = client_run({
                "kind": "get", "port": args.port, "host": HOST, "path": path,
                "clients": args.page_clients,
                "accounts": rush_accounts if signed_in else [["", ""]],
                "min_seconds": args.page_seconds, "min_requests": args.page_requests,
                "max_seconds": 2 * args.page_seconds,
            })  # fmt: skip
            page_cpu = meter.read()
            lat = page["latencies_ms"]
            page_fives = fives(page["statuses"])
            all_fives += page_fives
            print(
                f"  {path} ({who}): {len(lat)} requests in {page['elapsed_s']:.1f} s"
                f" ({len(lat) / page['elapsed_s']:.0f}/s), statuses {page['statuses']};"
                f" p50 {percentile(lat, 0.5):.0f} ms, p99 {percentile(lat, 0.99):.0f} ms"
            )
            print(cpu_line(page, page_cpu))
            summary.check(
                f"pages {path} ({who}): p99 < 300 ms",
                f"p50 {percentile(lat, 0.5):.0f} ms, p99 {percentile(lat, 0.99):.0f} ms,"
                f" {len(lat)} req in {page['elapsed_s']:.0f} s",
                percentile(lat, 0.99) < 300,
            )
            ok_answers = page["statuses"].get("200", 0) == len(lat)
            summary.check(
                f"pages {path} ({who}): every answer 200", str(page["statuses"]), ok_answers
            )

        print(f"\n5. Lottery: {args.lottery_clients} clients enter through the page")
        rng = random.Random(9)
        fast = set(rng.sample(range(args.lottery_clients), args.lottery_clients // 2))
        delays = [0.0 if n in fast else rng.uniform(0.5, 4.0) for n in range(args.lottery_clients)]
        meter = CpuMeter(server.pid)
        lottery = client_run({
            "kind": "lottery", "port": args.port, "host": HOST,
            "path": f"/appointments/lottery/{lottery_round.pk}/",
            "clients": args.lottery_clients, "accounts": lottery_accounts, "delays": delays,
            "doc_prefix": "L",
        })  # fmt: skip
        lottery_cpu = meter.read()
        statuses: dict[str, int] = {}
        for entry in lottery["entries"]:
            statuses[str(entry["status"])] = statuses.get(str(entry["status"]), 0) + 1
        all_fives += fives(statuses)
        lat = [entry["latency_ms"] for entry in lottery["entries"]]
        print(
            f"  entries: statuses {statuses} (302: registered) in {lottery['elapsed_s']:.1f} s;"
            f" p50 {percentile(lat, 0.5):.0f} ms, p99 {percentile(lat, 0.99):.0f} ms"
        )
        print(cpu_line(lottery, lottery_cpu))
        fair = lottery_fairness(lottery_round, fast)
        print(
            f"  draw: {fair['winners']} winners of {fair['entries']} entries; the order is"
            f" {'' if fair['reproducible'] else 'NOT '}reproducible from the published seed"
        )
        print(
            f"  winners' mean arrival rank {fair['mean_rank']:.1f}, expected"
            f" {fair['expected_rank']:.1f} if arrival does not matter; rank-sum z ="
            f" {fair['z']:+.2f}, p = {fair['p_rank']:.3f}"
        )
        print(
            f"  fast half won {fair['fast_won']} of {fair['fast']}, slow half"
            f" {fair['slow_won']} of {fair['slow']}: chi-square {fair['chi2']:.2f}, p ="
            f" {fair['p_groups']:.3f}; the first {fair['winners']} to arrive won"
            f" {fair['first_w_won']} (expected {fair['first_w_expected']:.1f})"
        )
        summary.check(
            "lottery: every entry registered",
            str(statuses),
            statuses.get("302", 0) == args.lottery_clients,
        )
        summary.check(
            "lottery: arrival gives no advantage (p >= 0.001, some lose, seed reproduces)",
            f"rank-sum p {fair['p_rank']:.3f}, fast/slow p {fair['p_groups']:.3f}",
            fair["reproducible"]
            and 0 < fair["winners"] < fair["entries"]  # else there is nothing to compare
            and min(fair["p_rank"], fair["p_groups"]) >= 0.001,
        )

        print("\n6. Rate limits: one account hammers the booking endpoint on one connection")
        count = limit[0] + 5
        hammer = client_run({
            "kind": "hammer", "port": args.port, "host": HOST, "service": "rush",
            "slot": rush_slots[0], "account": hammer_account, "count": count,
        })  # fmt: skip
        codes = hammer["statuses"]
        all_fives += sum(1 for code in codes if code >= 500)
        refused = codes.count(429)
        print(
            f"  {count} requests: {codes} ({hammer['connects']} connection(s)); the per-address"
            " limit being lifted, only the account's own budget can refuse"
        )
        summary.check(
            "rate limit: one account is refused (429) after its budget",
            f"{refused} of {count} refused, first at #{codes.index(429) + 1 if refused else '-'}",
            429 not in codes[: limit[0]] and refused > 0,
        )
    finally:
        server_stop(server)

    over_counter, over_rows, places = oversold(MISSION)
    print(
        f"\nOversold slots: {over_counter} (counter), {over_rows} (booking rows); places taken"
        f" {places}; 1-minute load at the end {os.getloadavg()[0]:.2f}; CPU probe at the end"
        f" {cpu_probe_ms():.0f} ms"
    )
    summary.check("zero oversold (counter / booking rows)", f"{over_counter} / {over_rows}",
                  over_counter == 0 and over_rows == 0)  # fmt: skip
    summary.check("no 5xx in any scenario", str(all_fives), all_fives == 0)
    summary.print()
    if over_counter or over_rows or all_fives:
        raise SystemExit("FAILED: oversold or 5xx")


if __name__ == "__main__":
    main()
