"""The benchmarks' load client: ONE process, asyncio, raw HTTP/1.1 keep-alive over asyncio
streams; the standard library only, so it needs nothing installed and imports no Django.

The benchmark (bench/release_rush.py, bench/booking.py) runs it as its own process,
`python bench/_http.py`, with one scenario as JSON on stdin, and reads one JSON result from
stdout. Every result carries the client process's own CPU seconds over the scenario
(`resource.getrusage`), so that a client which steals the server's CPU shows it; a booking run
with `t0` also from t0 on (`cpu_from_t0_s`), without the connections' warming before it.

Scenarios (`kind`):
- `book`: clients POST bookings to random slots among those not yet known to be full (a "full"
  answer tells every client, as a refreshed availability page would), until no slot is open
  (or, with `seconds`, until that long has passed).
  `one_each` gives each client its own account and stops it at its first booking (the rush);
  otherwise clients draw accounts from a shared pool and change account before the per-account
  budget is spent (steady state). With `t0` (Unix time) every client opens and warms its
  connection first, then fires at t0.
- `get`: clients GET one path in a loop for at least `min_seconds`, and on until `min_requests`
  are done or `max_seconds` have passed; each sends back the cookies the server set, as a
  browser does.
- `lottery`: each client opens the draw's page, waits its own delay, then posts the entry form.
- `hammer`: one account, one connection, `count` booking POSTs in a row.
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

READ_LIMIT = 1 << 22
# A booking client stops after this many answers in a row that are neither a booking nor "full"
# (an error, a rate limit, "not released"), so that a broken server cannot keep it looping.
GIVE_UP_AFTER = 20


class Connection:
    """One keep-alive HTTP/1.1 connection. A request on a connection the server has closed while
    idle (nothing of the answer read yet) is sent again on a new one, and counted."""

    def __init__(self, port: int, host: str) -> None:
        self.port = port
        self.host = host
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.connects = 0
        # the cookies the last answer set, as (name, value); value None: the cookie was dropped
        self.cookies_set: list[tuple[str, str | None]] = []

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            "127.0.0.1", self.port, limit=READ_LIMIT
        )
        self.connects += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        for attempt in (1, 2):
            if self.writer is None:
                await self.open()
            assert self.reader is not None
            assert self.writer is not None
            try:
                self.writer.write(head + body)
                await self.writer.drain()
                status_line = await self.reader.readuntil(b"\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt == 2:
                    raise
                continue
            return await self._rest(status_line)
        raise AssertionError("unreachable")

    async def _rest(self, status_line: bytes) -> tuple[int, bytes]:
        assert self.reader is not None
        status = int(status_line.split(b" ", 2)[1])
        raw = await self.reader.readuntil(b"\r\n\r\n")
        headers = {}
        self.cookies_set = []
        for line in raw.decode("latin-1").split("\r\n"):
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
                if name.strip().lower() == "set-cookie":
                    self.cookies_set.append(_cookie_set(value))
        if "content-length" in headers:
            payload = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            payload = b"".join(parts)
        else:
            payload = await self.reader.read()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, payload


def _cookie_set(header: str) -> tuple[str, str | None]:
    """(name, value) of a Set-Cookie header; value None when it drops the cookie."""
    pair, _, attributes = header.strip().partition(";")
    name, _, value = pair.partition("=")
    dropped = "max-age=0" in attributes.lower().replace(" ", "")
    return name.strip(), None if dropped else value.strip()


class CookieJar:
    """A browser's cookies for one host, as far as the benchmarks need: what the server sets
    is sent back."""

    def __init__(self, header: str) -> None:
        self.cookies = dict(
            (part.partition("=")[0].strip(), part.partition("=")[2].strip())
            for part in header.split(";")
            if "=" in part
        )

    def header(self) -> dict[str, str]:
        if not self.cookies:
            return {}
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}

    def update(self, conn: Connection) -> None:
        for name, value in conn.cookies_set:
            if value is None:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _answer(payload: bytes) -> dict[str, Any]:
    try:
        data = json.loads(payload)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def _sleep_until(when: float) -> None:
    delay = when - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def _book(spec: dict[str, Any]) -> dict[str, Any]:
    accounts: list[list[str]] = spec["accounts"]
    one_each: bool = spec.get("one_each", False)
    budget: int = spec.get("budget", 1 << 30)
    open_slots: set[int] = set(spec["slots"])
    pool = list(range(len(accounts)))
    records: list[tuple[float, float, int, str, bool]] = []  # start, latency, status, code, nr
    t0: float | None = spec.get("t0")
    seconds: float | None = spec.get("seconds")
    warm_done: list[float] = []
    cpu_at_t0: list[float] = []
    stop_at = [float("inf")]

    async def client(n: int) -> dict[str, Any]:
        rng = random.Random(n)
        conn = Connection(spec["port"], spec["host"])
        answers: list[str] = []
        account = n if one_each else pool.pop() if pool else None
        used = 0
        attempt = 0
        strange = 0
        gave_up = False
        if t0 is not None:
            # open and warm the keep-alive connection, then wait for the release moment
            await conn.request("GET", spec["warm_path"], {"Cookie": accounts[n][0]})
            warm_done.append(time.time())
            await _sleep_until(t0)
            if not cpu_at_t0:  # the first client awake at t0
                cpu_at_t0.append(_cpu())
        while open_slots and account is not None and time.time() < stop_at[0]:
            if not one_each and used >= budget:
                account, used = (pool.pop() if pool else None), 0
                continue
            cookie, csrf = accounts[account]
            slot = rng.choice(sorted(open_slots))
            attempt += 1
            body = json.dumps({
                "service": spec["service"], "slot": slot,
                "persons": [{"full_name": f"Bench {n}", "date_of_birth": "1990-01-01",
                             "document_number": f"{spec['doc_prefix']}{n:03d}X{attempt:05d}"}],
            }).encode()  # fmt: skip
            started = time.perf_counter()
            wall = time.time()
            status, payload = await conn.request(
                "POST", "/api/v1/appointments/bookings/", body=body,
                headers={"Cookie": cookie, "X-CSRFToken": csrf,
                         "Content-Type": "application/json"},
            )  # fmt: skip
            latency = time.perf_counter() - started
            used += 1
            answer = _answer(payload) if status != 201 else {}
            code = str(answer.get("code", status))
            records.append((wall, latency, status, code, "next_release" in answer))
            answers.append(code if status != 201 else "booked")
            if status == 201 and one_each:
                break
            if code == "appointments.slot_full":
                open_slots.discard(slot)
            elif status == 429 and not one_each:
                account, used = (pool.pop() if pool else None), 0
            if status == 201 or code == "appointments.slot_full":
                strange = 0
            else:
                strange += 1
                if strange >= GIVE_UP_AFTER:  # refused for another reason again and again
                    gave_up = True
                    break
        conn.close()
        return {
            "answers": answers,
            "connects": conn.connects,
            "ran_out_of_accounts": account is None,
            "gave_up": gave_up,
        }

    started_cpu = _cpu()
    started = time.time()
    if seconds is not None:
        stop_at[0] = started + seconds
    clients = await asyncio.gather(*(client(n) for n in range(spec["clients"])))
    ended = time.time()
    origin = t0 if t0 is not None else started
    booked_at = [r[0] + r[1] - origin for r in records if r[2] == 201]
    return {
        "cpu_s": _cpu() - started_cpu,
        "cpu_from_t0_s": (_cpu() - cpu_at_t0[0]) if cpu_at_t0 else None,
        "elapsed_s": ended - origin,
        "origin": origin,
        "warm_last_s": (max(warm_done) - t0) if warm_done and t0 is not None else None,
        "first_sent_s": (min(r[0] for r in records) - origin) if records else None,
        "last_booked_s": max(booked_at) if booked_at else None,
        "latencies_ms": [r[1] * 1000 for r in records],
        "statuses": dict(Counter(str(r[2]) for r in records)),
        "codes": dict(Counter(r[3] for r in records if r[2] != 201)),
        "full_with_next_release": sum(
            1 for r in records if r[3] == "appointments.slot_full" and r[4]
        ),
        "clients": clients,
        "records": records,
    }


async def _get(spec: dict[str, Any]) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    started = time.time()

    def done() -> bool:
        elapsed = time.time() - started
        return elapsed >= spec["min_seconds"] and (
            len(latencies) >= spec["min_requests"] or elapsed >= spec["max_seconds"]
        )

    async def client(n: int) -> None:
        conn = Connection(spec["port"], spec["host"])
        # as a browser: the cookies the server sets are sent back (the signed-in reader's
        # navigation cookie, consulate/kernel/public_cache.py)
        jar = CookieJar(spec["accounts"][n % len(spec["accounts"])][0] or "")
        while not done():
            began = time.perf_counter()
            status, _payload = await conn.request("GET", spec["path"], jar.header())
            latencies.append((time.perf_counter() - began) * 1000)
            statuses[str(status)] += 1
            jar.update(conn)
        conn.close()

    started_cpu = _cpu()
    await asyncio.gather(*(client(n) for n in range(spec["clients"])))
    return {
        "cpu_s": _cpu() - started_cpu,
        "elapsed_s": time.time() - started,
        "latencies_ms": latencies,
        "statuses": dict(statuses),
    }


async def _lottery(spec: dict[str, Any]) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []

    async def client(n: int) -> None:
        cookie, csrf = spec["accounts"][n]
        conn = Connection(spec["port"], spec["host"])
        await conn.request("GET", spec["path"], {"Cookie": cookie})
        await asyncio.sleep(spec["delays"][n])
        form = "&".join(
            f"{key}={value}"
            for key, value in {
                "csrfmiddlewaretoken": csrf,
                "person-full_name": f"Lottery+{n}",
                "person-date_of_birth": "1990-01-01",
                "person-document_number": f"{spec['doc_prefix']}{n:05d}",
            }.items()
        ).encode()
        began = time.perf_counter()
        status, _payload = await conn.request(
            "POST", spec["path"], body=form,
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        entries.append(
            {"client": n, "status": status, "latency_ms": (time.perf_counter() - began) * 1000}
        )
        conn.close()

    started_cpu = _cpu()
    started = time.time()
    await asyncio.gather(*(client(n) for n in range(spec["clients"])))
    return {"cpu_s": _cpu() - started_cpu, "elapsed_s": time.time() - started, "entries": entries}


async def _hammer(spec: dict[str, Any]) -> dict[str, Any]:
    cookie, csrf = spec["account"]
    conn = Connection(spec["port"], spec["host"])
    statuses = []
    started_cpu = _cpu()
    for n in range(spec["count"]):
        body = json.dumps({
            "service": spec["service"], "slot": spec["slot"],
            "persons": [{"full_name": "Hammer", "date_of_birth": "1990-01-01",
                         "document_number": f"H{n:07d}"}],
        }).encode()  # fmt: skip
        status, _payload = await conn.request(
            "POST", "/api/v1/appointments/bookings/", body=body,
            headers={"Cookie": cookie, "X-CSRFToken": csrf, "Content-Type": "application/json"},
        )  # fmt: skip
        statuses.append(status)
    conn.close()
    return {"cpu_s": _cpu() - started_cpu, "statuses": statuses, "connects": conn.connects}


SCENARIOS = {"book": _book, "get": _get, "lottery": _lottery, "hammer": _hammer}


def client_run(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one scenario in a new client process (the caller's side; blocks until it is done)."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve())],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"load client failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    spec = json.load(sys.stdin)
    result = asyncio.run(SCENARIOS[spec["kind"]](spec))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
