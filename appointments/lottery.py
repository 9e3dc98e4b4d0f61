"""The lottery draw as a pure function, so anyone can re-run it from the published seed.

Order: every ticket gets the key SHA-256("<seed>:<ticket>") (hex); tickets sorted by that key
(ties, which need a SHA-256 collision, by ticket). The first in that order get the slots, in
time order. With a shell: `printf '%s' "<seed>:<ticket>" | sha256sum` for each ticket, then sort.
The seed is committed before registration opens by publishing SHA-256(<seed>).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def commitment(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def draw_key(seed: str, ticket: str) -> str:
    return hashlib.sha256(f"{seed}:{ticket}".encode()).hexdigest()


def draw_order(seed: str, tickets: Iterable[str]) -> list[str]:
    return sorted(tickets, key=lambda ticket: (draw_key(seed, ticket), ticket))
