"""A mission on its own node, end to end with real processes and two real databases: HQ served
by gunicorn on the test database, the mission moved into a database of its own and worked on
by management commands as separate processes, pushing to HQ over HTTP. HQ goes away for a
while; the node keeps working; when HQ is back every event arrives once, reconciliation finds
nothing to repair, and a role granted at HQ reaches the node."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from consulate.kernel.actors import SYSTEM
from missions.models import Membership
from missions.services.node import mission_node_export
from sync.hq.models import CentralEvent, MissionLink
from tests.conftest import make_staff
from tests.processes import HqServer, free_port, manage, other_database, server_connect

WORK = """
from django_tenants.utils import schema_context
from appointments.services import counter_create
from consulate.kernel.actors import SYSTEM
with schema_context({schema!r}):
    for n in range({count}):
        counter_create(name=f"Counter {{n}} of {label}", acting_user=SYSTEM)
"""


@pytest.fixture
def hq(committed_db) -> Iterator[HqServer]:  # type: ignore[no-untyped-def]
    server = HqServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def node_outbox(node: str, schema: str) -> list[int]:
    with server_connect(node) as db:
        rows = db.execute(f'SELECT seq FROM "{schema}".sync_outboxevent ORDER BY seq').fetchall()
    return [seq for (seq,) in rows]


def hq_seqs(code: str) -> list[int]:
    connection.set_schema_to_public()
    return list(
        CentralEvent.objects.filter(mission=code).order_by("seq").values_list("seq", flat=True)
    )


def test_a_node_works_through_an_outage_and_everything_reaches_hq_once(
    throwaway_mission, hq, tmp_path
):
    mission, code, schema = throwaway_mission, throwaway_mission.code, throwaway_mission.schema_name
    officer = make_staff(mission, "officer", email=f"officer-{code}@example.org")
    package = tmp_path / "move"
    mission_node_export(
        mission=mission, node_url="http://node.test:8001", out_dir=package, acting_user=SYSTEM
    )

    with other_database() as node:

        def at_node(*args: str) -> str:
            done = manage(node, *args, SYNC_HQ_URL=hq.url)
            assert done.returncode == 0, done.stdout + done.stderr
            return done.stdout

        def work(count: int, label: str) -> None:
            at_node(
                "shell", "--no-imports", "-c",
                WORK.format(schema=schema, count=count, label=label),
            )  # fmt: skip

        at_node("migrate_all")
        at_node("mission_node_import", str(package))

        # the node works and pushes: HQ holds every event the node has, once
        work(3, "day one")
        assert "HQ has applied every event" in at_node("sync_push", code)
        assert hq_seqs(code) == node_outbox(node, schema)

        # HQ goes away: the node keeps working, its push fails and says so
        hq.stop()
        work(4, "the outage")
        failed = manage(node, "sync_push", code, SYNC_HQ_URL=hq.url)
        assert "cannot be reached" in (failed.stdout + failed.stderr)
        assert len(hq_seqs(code)) < len(node_outbox(node, schema))

        # HQ is back; meanwhile an HQ admin appointed a consul there
        consul = make_staff(mission, "consul", email=f"consul-{code}@example.org")
        hq.start()
        work(1, "after")
        at_node("sync_push", code)
        events = node_outbox(node, schema)
        assert hq_seqs(code) == events  # every event, once, in order
        link = MissionLink.objects.get(mission=code)
        assert link.last_seq == events[-1]

        # the consul can log in at the node; the officer still holds their role there
        with server_connect(node) as db:
            roles = dict(
                db.execute(
                    "SELECT u.email, m.role FROM missions_membership m"
                    " JOIN accounts_user u ON u.id = m.user_id WHERE m.is_active",
                ).fetchall()
            )
        assert roles[consul.email] == "consul"
        assert roles[officer.email] == "officer"

        # and reconciliation finds nothing to repair
        report = at_node("sync_reconcile", code)
        assert "0 differences left" in report, report
    Membership.objects.filter(mission=mission).delete()
