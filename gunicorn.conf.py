"""gunicorn's settings for production (`gunicorn consulate.wsgi` reads this file from the
project folder). Each value can be overridden by its environment variable.

Threads, not processes only: a request spends much of its time waiting for PostgreSQL and the
cache, and a thread waiting costs little memory, while a sync worker waiting holds a whole
process. Each thread keeps its own database connection (CONN_MAX_AGE in
consulate/settings/production.py): size PostgreSQL's max_connections for workers x threads per
host. Figures behind these defaults: docs/benchmarks.md."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 8))
# Behind the TLS proxy, which keeps its own connections to the clients.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# A worker is replaced now and then, so that no slow growth of memory lasts.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 5000))
max_requests_jitter = 500
# The proxy in front logs each request; set GUNICORN_ACCESSLOG=- to log them here too.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
