"""The benchmarks' web server: gunicorn with bench/booking_settings.py (the one place its
configuration comes from), and the CPU it and the machine spend, read from /proc (Linux)."""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "bench.booking_settings"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def server_arguments(
    parser: argparse.ArgumentParser, *, workers: int = 3, threads: int = 2
) -> None:
    """gunicorn's shape, on the command line; the defaults are gunicorn.conf.py's on a 2-core
    machine (a process per core and one more, two threads each: docs/benchmarks.md)."""
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class")
    parser.add_argument("--workers", type=int, default=workers, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=threads, help="threads per gthread worker")
    parser.add_argument(
        "--keep-alive",
        type=int,
        default=75,
        help="seconds gunicorn keeps an idle connection (its default, 2, would drop the rush's"
        " warmed connections before the release)",
    )
    parser.add_argument("--port", type=int, default=8097)
    parser.add_argument(
        "--cache-url",
        default=os.environ.get("CACHE_URL", ""),
        help="CACHE_URL for the server and the set-up (e.g. redis://127.0.0.1:6379/9); empty:"
        " the settings' default, a per-process memory cache",
    )


def server_environment(args: argparse.Namespace, database_url: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": SETTINGS}
    if args.cache_url:
        env["CACHE_URL"] = args.cache_url
    return env


def server_start(
    args: argparse.Namespace, database_url: str, *, ready_host: str
) -> subprocess.Popen[bytes]:
    """Start gunicorn and wait until `ready_host` answers."""
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"), "consulate.wsgi:application",
        "--bind", f"127.0.0.1:{args.port}", "--worker-class", args.worker_class,
        "--workers", str(args.workers), "--threads", str(args.threads),
        "--keep-alive", str(args.keep_alive), "--backlog", "2048", "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=server_environment(args, database_url))
    for _ in range(150):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=5)
            conn.request("GET", "/api/v1/appointments/services/", headers={"Host": ready_host})
            if conn.getresponse().status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def server_stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(timeout=30)


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, its own CPU seconds, the CPU seconds of its children that ended) of a
    process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "; fields from state on
    own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
    ended = (int(fields[13]) + int(fields[14])) / CLOCK_TICKS  # cutime + cstime
    return int(fields[1]), own, ended


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of one process so far (a database server's backend on this
    machine), or None when it is gone or not on this machine."""
    stat = _stat(pid)
    return None if stat is None else stat[1]


def process_tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of `root` and its children so far (gunicorn's master and
    workers), those that ended included (a worker replaced after `GUNICORN_MAX_REQUESTS`, if
    that is set)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is None:
                continue
            if int(entry.name) == root:
                total += stat[1] + stat[2]
            elif stat[0] == root:
                total += stat[1]
    return total


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, over every core."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / CLOCK_TICKS, sum(values) / CLOCK_TICKS


class CpuMeter:
    """The server's and the machine's CPU over one scenario."""

    def __init__(self, server_pid: int) -> None:
        self.pid = server_pid
        self.server = process_tree_cpu(server_pid)
        self.busy, self.total = machine_cpu()

    def read(self) -> dict[str, float]:
        busy, total = machine_cpu()
        return {
            "server_cpu_s": process_tree_cpu(self.pid) - self.server,
            "machine_busy_pct": 100 * (busy - self.busy) / max(total - self.total, 1e-9),
            "load1": os.getloadavg()[0],
        }
