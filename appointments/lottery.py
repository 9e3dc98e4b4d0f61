"""The lottery draw as a pure function, so anyone can re-run it from the published seed.

Order: every ticket gets the key SHA-256("<seed>:<ticket>") (hex); tickets sorted by that key
(ties, which need a SHA-256 collision, by ticket). The first in that order get the slots, in
time order. With a shell: `printf '%s' "<seed>:<ticket>" | sha256sum` for each ticket, then sort.
The seed is committed before registration opens by publishing SHA-256(<seed>).

`verification_script` writes the same check as a small Python 3 program (standard library only)
with the round's published data in it, which the draw's page offers for download.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping


def commitment(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def draw_key(seed: str, ticket: str) -> str:
    return hashlib.sha256(f"{seed}:{ticket}".encode()).hexdigest()


def draw_order(seed: str, tickets: Iterable[str]) -> list[str]:
    return sorted(tickets, key=lambda ticket: (draw_key(seed, ticket), ticket))


SCRIPT = """#!/usr/bin/env python3
# {title}
#
# {usage}: python3 {filename} [TICKET]
#
# {what}
import hashlib
import sys

COMMITMENT = {commitment}
SEED = {seed}
# (rank, ticket, got a time), as published on the draw's page
RESULTS = {results}
TEXT = {text}


def key(ticket):
    return hashlib.sha256(f"{{SEED}}:{{ticket}}".encode()).hexdigest()


ok = hashlib.sha256(SEED.encode()).hexdigest() == COMMITMENT
print(("OK  " if ok else "MISMATCH  ") + TEXT["seed_ok" if ok else "seed_bad"])
print("    commitment", COMMITMENT)
print("    seed      ", SEED)
published = [ticket for _rank, ticket, _won in sorted(RESULTS)]
expected = sorted(published, key=lambda ticket: (key(ticket), ticket))
order_ok = expected == published and [r for r, _t, _w in sorted(RESULTS)] == list(
    range(1, len(RESULTS) + 1)
)
print(("OK  " if order_ok else "MISMATCH  ") + TEXT["order_ok" if order_ok else "order_bad"])
mine = sys.argv[1].strip().upper() if len(sys.argv) > 1 else None
for rank, ticket, won in sorted(RESULTS):
    if mine is None or ticket == mine:
        print(f"{{rank:>6}}  {{ticket}}  {{key(ticket)}}  {{TEXT['won'] if won else '-'}}")
if mine is not None and mine not in published:
    print(TEXT["no_ticket"])
print(TEXT["compare"])
sys.exit(0 if ok and order_ok else 1)
"""


def verification_script(
    *,
    commitment: str,
    seed: str,
    results: Iterable[tuple[int, str, bool]],
    filename: str,
    text: Mapping[str, str],
) -> str:
    """A self-contained Python 3 program that checks a drawn round from its published data:
    the seed against the commitment, and the published ranks against the order the seed gives.
    `text` holds its messages (the page's language): title, usage, what, seed_ok, seed_bad,
    order_ok, order_bad, won, no_ticket, compare. Every value goes in as a Python literal."""
    comment = {k: " ".join(str(text[k]).split()) for k in ("title", "usage", "what")}
    return SCRIPT.format(
        **comment,
        filename=filename,
        commitment=repr(str(commitment)),
        seed=repr(str(seed)),
        results=repr([(int(rank), str(ticket), bool(won)) for rank, ticket, won in results]),
        text=repr({str(k): str(v) for k, v in text.items()}),
    )
