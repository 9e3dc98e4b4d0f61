"""gunicorn's settings for production (`gunicorn consulate.wsgi` reads this file from the
project folder). Each value can be overridden by its environment variable.

Threaded workers (gthread): idle keep-alive connections wait in the worker's poller, not in a
thread, and a second thread overlaps one request's database round trips with another's Python.
Each thread keeps its own database connection (CONN_MAX_AGE in
consulate/settings/production.py): size PostgreSQL's max_connections for workers x threads per
host. Figures behind these defaults: docs/benchmarks.md."""

import gc
import itertools
import multiprocessing
import os
import socket

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
# One process per core and one more, with two threads each: a request is mostly Python (CPU, one
# thread at a time per process) and waits for the database only briefly. More threads per
# process made every request slower (3 x 8 against 4 x 2 on 2 cores, docs/benchmarks.md): a
# thread holding a row lock waited for the interpreter behind the others. Three processes on 2
# cores did better than four in four alternated pairs of runs (the steady bookings and the
# visitors' home in all four, the rush in three: docs/benchmarks.md, thirteenth pass): fewer
# processes take turns on the cores, and the spare one still overlaps a database wait.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
# Each worker listens on a socket of its own (SO_REUSEPORT), and the kernel spreads new
# connections evenly over them. With one shared socket the worker that woke first took the
# connection, and a keep-alive connection stays with its worker: under 200 clients one worker
# held three times the connections of another, and its requests waited three times as long
# (the signed-in home's p99 went from 368-469 to 253-279 ms with this, docs/benchmarks.md).
# The kernel's choice is blind: the connections waiting in a worker's own queue are reset when
# that worker closes its socket (it stops, is replaced or killed; Linux's
# net.ipv4.tcp_migrate_req=1 hands them to another), and two servers started by the same user
# on one port would share it silently, so on_starting refuses an address already listened on.
# Where a socket per worker cannot be (a Unix socket, systemd's sockets, which gunicorn would
# ignore) on_starting goes back to one shared socket, as GUNICORN_REUSE_PORT=0 does.
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "1") != "0"
# Behind the TLS proxy, which keeps its own connections to the clients.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# The application is imported once, in the master, and each worker forks from it: a worker
# that is replaced starts answering in milliseconds instead of the seconds Django's start-up
# takes (under load, the requests it would have taken queued behind that start: p99 of 4 s in
# bench/release_rush.py). Nothing connects at import: the database, the cache and the broker
# are opened by each worker when first used.
preload_app = True
# Workers are not replaced after a number of requests (gunicorn's default). Replacing one drops
# its keep-alive connections mid-load, and the requests queued on them waited up to a second:
# under 200 clients the feed's p99 was 0.9 s with replacement after 5,000 requests and 0.2 s
# without. A worker's memory stayed flat (163 MB) over 100,000 requests of pages, feed and
# bookings (docs/benchmarks.md); set GUNICORN_MAX_REQUESTS if a leak ever shows.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 0))
max_requests_jitter = max_requests // 10
# The proxy in front logs each request; set GUNICORN_ACCESSLOG=- to log them here too.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None

# The garbage collector. Every request leaves its objects in reference cycles (the request, its
# session, user, messages and resolver refer to each other), so the collector runs several times
# a request; a full collection walks every object the process holds, and it stops the worker's
# threads while it does: 200-400 ms under load with Django's objects in it, which was the p99 of
# the pages under 200 clients (docs/benchmarks.md). What exists before the fork (the preloaded
# application) and what a worker has built after its first requests (templates, catalogues,
# URL patterns, connections) lives as long as the process: it is moved out of the collector's
# sight (gc.freeze), so a full collection walks only what came after, and takes milliseconds.
# Each first freeze follows a full collection (once in the master, once in each worker at its
# warm-up: a single pause like those it saves), so no garbage is frozen with the rest.
# GUNICORN_GC_FREEZE_AFTER=0 leaves the worker's own objects to the collector.
gc_freeze_after = int(os.environ.get("GUNICORN_GC_FREEZE_AFTER", 1000))
_requests_served = itertools.count(1)


def pre_fork(server, worker):  # type: ignore[no-untyped-def]
    """In the master, before each worker is forked: the preloaded application is long-lived."""
    if not gc.get_freeze_count():  # the first fork
        gc.collect()
    gc.freeze()


def post_request(worker, req, environ, resp):  # type: ignore[no-untyped-def]
    """In a worker, after each request: after its warm-up, what it holds is long-lived too."""
    if next(_requests_served) == gc_freeze_after:
        gc.collect()
        gc.freeze()


def on_starting(server):  # type: ignore[no-untyped-def]
    """With a socket per worker: back to one shared socket where one per worker cannot be, and
    refuse an address something already listens on, as gunicorn's own bind would."""
    if not server.cfg.reuse_port or server.master_pid:
        return  # gunicorn binds (and refuses) itself; a new master (USR2) joins the old one's
    if os.environ.get("LISTEN_FDS") or not all(isinstance(a, tuple) for a in server.cfg.address):
        server.cfg.set("reuse_port", False)
        return
    for address in server.cfg.address:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                raise SystemExit(f"Cannot listen on {address[0]}:{address[1]}: {error}") from None
