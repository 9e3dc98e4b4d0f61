"""Property: however a mission's bundles reach HQ (duplicated, reordered, some lost and sent
again later), HQ ends in the state in-order delivery gives: the same central events, the same
link, nothing held, nothing refused.

Each example is a new mission (a fresh code), so examples share the test's database and
transaction without cleaning up (the central log is append-only: nothing could delete it).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.bundle import SignedBundle
from sync.hq.apply import bundle_receive
from sync.hq.models import CentralEvent, HeldBundle, MissionLink, RefusedBundle
from tests.sync.bundles import MissionChain, utc_text


def hq_state(code: str) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
    rows = CentralEvent.objects.filter(mission=code).order_by("seq")
    events = [
        (row.seq, row.topic, row.aggregate_type, row.aggregate_id, row.payload, row.version,
         row.actor_id, utc_text(row.occurred_at), row.bundle_number)
        for row in rows
    ]  # fmt: skip
    link = MissionLink.objects.get(mission=code)
    return events, (link.last_seq, link.last_bundle_number, link.last_bundle_hash,
                    utc_text(link.last_bundle_created_at))  # fmt: skip


def in_order_state(bundles: list[SignedBundle]) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
    """What in-order delivery leaves at HQ: every event once, the link at the last bundle."""
    events = [
        (e["seq"], e["topic"], e["aggregate_type"], e["aggregate_id"], e["payload"],
         e["version"], e["actor_id"], e["occurred_at"], signed.header["number"])
        for signed in bundles
        for e in signed.content["events"]
    ]  # fmt: skip
    last = bundles[-1]
    return events, (last.header["last_seq"], last.header["number"], last.hash,
                    last.header["created_at"])  # fmt: skip


def deliver(signed: SignedBundle) -> dict[str, Any]:
    # each delivery reads the frame's bytes afresh, as HQ would
    answer = bundle_receive(SignedBundle.from_bytes(signed.to_bytes()))
    assert answer["refused"] is None, answer
    return answer


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_interleaving_converges_to_the_in_order_state(db, data):
    # given a mission's chain of bundles of a few events each
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=6), label="sizes")
    chain = MissionChain.register()
    bundles = [chain.next_bundle(size) for size in sizes]
    last_seq = bundles[-1].header["last_seq"]
    # when some of them arrive, in any order, some more than once, some never (lost)
    arrivals = data.draw(
        st.lists(st.sampled_from(range(len(bundles))), max_size=3 * len(bundles)),
        label="arrivals",
    )
    for index in arrivals:
        deliver(bundles[index])
    # and the mission then sends again, in any order, what HQ has not acknowledged, until HQ
    # acknowledges everything (each round applies at least the next bundle)
    acked = MissionLink.objects.filter(mission=chain.code).values_list("last_seq", flat=True)
    rounds = 0
    while (acked.first() or 0) < last_seq:
        rounds += 1
        assert rounds <= len(bundles), "HQ stopped making progress"
        high = acked.first() or 0
        unacked = [i for i, signed in enumerate(bundles) if signed.header["last_seq"] > high]
        for index in data.draw(st.permutations(unacked), label=f"resend {rounds}"):
            answer = deliver(bundles[index])
    # then HQ holds exactly what in-order delivery gives, and nothing is held or refused
    assert hq_state(chain.code) == in_order_state(bundles)
    assert not HeldBundle.objects.filter(mission=chain.code).exists()
    assert not RefusedBundle.objects.filter(mission=chain.code).exists()
    if rounds:
        assert (answer["acked_seq"], answer["want"]) == (last_seq, [])


def test_in_order_delivery_gives_the_in_order_state(db):
    # the property's reference, checked against delivery itself
    chain = MissionChain.register()
    bundles = [chain.next_bundle(size) for size in (3, 1, 2)]
    answers = [deliver(signed) for signed in bundles]
    assert [a["applied"] for a in answers] == [3, 1, 2]
    assert hq_state(chain.code) == in_order_state(bundles)
