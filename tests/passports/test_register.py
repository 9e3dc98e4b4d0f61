"""HQ's register of lost and stolen travel documents (passports/register/): built from the
`passports.document.reported` events missions write, by `sync.registry.events_project`, the way
HQ's apply calls it. Each test tries to make it keep two rows for one number, lose a report,
keep the wrong one, depend on the order reports come in, or take a broken payload in."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from consulate.kernel.actors import SYSTEM
from consulate.kernel.crypto.blind_index import blind_index
from missions.models import Mission
from passports.events import PassportTopic
from passports.models import DocumentReport
from passports.register import projector, selectors
from passports.register.models import ReportedDocument
from sync.hq.models import SkippedEvent
from sync.registry import events_project, projectors, registers_rebuild
from sync.services import outbox_event_record
from tests.registers import central_log, outbox_on_the_wire, project_again, shuffled_batches

TOPIC = "passports.document.reported"
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def index_of(number: str) -> str:
    """The number's blind index as HQ keeps it (under the public schema's key)."""
    return blind_index(number, schema_name="public", purpose="travel_document")


def report(number: str, kind: str = "lost", *, at: dt.datetime | None = None) -> DocumentReport:
    """A report at the current mission as its service records it: the report and its event in
    one transaction, the payload carrying the index the report's own column computed."""
    zone = Mission.objects.get(schema_name=connection.schema_name).zone
    reported_at = at or timezone.now()
    with transaction.atomic():
        row = DocumentReport.objects.create(kind=kind, document_number=number)
        outbox_event_record(
            topic=PassportTopic.DOCUMENT_REPORTED,
            aggregate_id=row.pk,
            payload={
                "kind": kind,
                "document_index": row.document_index,
                "reported_on": reported_at.astimezone(zone).date().isoformat(),
                "reported_at": reported_at.isoformat(),
            },
            acting_user=SYSTEM,
        )
    return row


def reports_at(schema: str, *reports: tuple[str, str, dt.datetime]) -> list[dict]:
    """Reports (number, kind, time) made at a mission; its report events on the wire."""
    with schema_context(schema):
        for number, kind, at in reports:
            report(number, kind, at=at)
        return outbox_on_the_wire("passports.document.")


def register_state() -> list[tuple]:
    return list(
        ReportedDocument.objects.order_by("document_index").values_list(
            "document_index", "kind", "mission", "seq", "report_id", "reported_on", "reported_at"
        )
    )


def event(seq: int, payload: object, *, aggregate_id: str = "7", version: int = 1) -> dict:
    """An event shaped as the mission writes it (`report` above)."""
    return {
        "seq": seq,
        "topic": TOPIC,
        "aggregate_type": "document",
        "aggregate_id": aggregate_id,
        "payload": payload,
        "version": version,
        "actor_id": None,
        "occurred_at": "2026-12-01T10:00:00.000000Z",
    }


def payload(number: str = "U1234567", **overrides: object) -> dict:
    return {
        "kind": "lost",
        "document_index": index_of(number),
        "reported_on": "2026-12-01",
        "reported_at": "2026-12-01T10:00:00+01:00",
        **overrides,
    }


@pytest.fixture
def two_missions(mission_a, mission_b):
    """Reports at Berlin (alpha) and Tokyo (beta), some of the same numbers. Returns (alpha's
    events, beta's events) and what the register must say of each number."""
    alpha = reports_at(
        "alpha",
        ("X1000001", "lost", T0),  # beta reports it lost later: alpha's stays
        ("Y1000002", "stolen", T0 + dt.timedelta(hours=1)),  # beta's later `lost` changes nothing
        ("Z1000003", "lost", T0 + dt.timedelta(hours=2)),  # beta's later `stolen` replaces it
        ("V1000005", "lost", T0 + dt.timedelta(days=2)),  # beta reported it lost first
        ("A2000001", "lost", T0 + dt.timedelta(hours=3)),
        ("A2000002", "stolen", T0 + dt.timedelta(hours=4)),
        ("T1000006", "stolen", T0 + dt.timedelta(hours=5)),  # beta too, at the same moment
    )
    beta = reports_at(
        "beta",
        ("X1000001", "lost", T0 + dt.timedelta(days=1)),
        ("Y1000002", "lost", T0 + dt.timedelta(days=1, hours=1)),
        ("Z1000003", "stolen", T0 + dt.timedelta(days=1, hours=2)),
        ("W1000004", "lost", T0 + dt.timedelta(days=1, hours=3)),
        ("V1000005", "lost", T0 + dt.timedelta(days=1, hours=4)),
        ("T1000006", "stolen", T0 + dt.timedelta(hours=5)),
    )
    expected = {
        "X1000001": ("alpha", "lost"),
        "Y1000002": ("alpha", "stolen"),
        "Z1000003": ("beta", "stolen"),
        "W1000004": ("beta", "lost"),
        "V1000005": ("beta", "lost"),
        "A2000001": ("alpha", "lost"),
        "A2000002": ("alpha", "stolen"),
        "T1000006": ("alpha", "stolen"),  # a tie: the first mission's code wins
    }
    return alpha, beta, expected


def assert_register_is(expected: dict[str, tuple[str, str]], alpha: list, beta: list) -> None:
    """One row per number, naming the report `expected` says, with that report's facts."""
    events = {("alpha", e["seq"]): e for e in alpha} | {("beta", e["seq"]): e for e in beta}
    rows = {row.document_index: row for row in ReportedDocument.objects.all()}
    assert set(rows) == {index_of(number) for number in expected}
    for number, (mission, kind) in expected.items():
        row = rows[index_of(number)]
        source = events[(row.mission, row.seq)]
        assert (row.mission, row.kind) == (mission, kind), number
        assert source["payload"]["document_index"] == row.document_index
        assert row.report_id == source["aggregate_id"]
        assert row.reported_at == dt.datetime.fromisoformat(source["payload"]["reported_at"])
        assert row.reported_on.isoformat() == source["payload"]["reported_on"]


# --- what the register holds -----------------------------------------------------------------


def test_a_report_at_a_mission_is_registered_under_hqs_index_without_its_number(in_mission_a):
    # given a passport reported stolen at Berlin
    row = report("U 123-4567", "stolen")
    events = outbox_on_the_wire("passports.document.")
    connection.set_schema_to_public()
    # when HQ projects its event
    events_project(mission="alpha", events=events)
    # then HQ registers it under the index of the number, however it was written
    (document,) = ReportedDocument.objects.all()
    assert document.document_index == index_of("U1234567")
    assert (document.kind, document.mission, document.seq) == ("stolen", "alpha", events[0]["seq"])
    assert document.report_id == str(row.pk)
    assert document.reported_at == dt.datetime.fromisoformat(events[0]["payload"]["reported_at"])
    assert document.reported_on == document.reported_at.astimezone(in_mission_a.zone).date()
    assert not SkippedEvent.objects.exists()
    # and the number itself is nowhere in the row
    assert "1234567" not in repr(ReportedDocument.objects.values().get())


def test_a_mission_bundle_applied_at_hq_fills_the_register_once(in_mission_a):
    from sync.export import file_export
    from sync.hq.apply import frames_receive

    # given two reports at Berlin, exported as a file for the bag
    report("A0000001", "lost")
    report("B0000002", "stolen")
    data = file_export(code="alpha", sealed=False)
    connection.set_schema_to_public()
    # when HQ applies it
    frames_receive(data, source="file")
    # then both are registered
    once = register_state()
    assert {(index, kind, mission) for index, kind, mission, *_ in once} == {
        (index_of("A0000001"), "lost", "alpha"),
        (index_of("B0000002"), "stolen", "alpha"),
    }
    # and the same file applied again changes nothing
    frames_receive(data, source="file")
    assert register_state() == once
    assert not SkippedEvent.objects.exists()


def test_reports_of_one_number_keep_one_row_the_first_unless_a_later_says_stolen(two_missions):
    # given both missions' reports
    alpha, beta, expected = two_missions
    # when HQ projects alpha's and then beta's
    events_project(mission="alpha", events=alpha)
    events_project(mission="beta", events=beta)
    # then each number has one row, the report the rule names
    assert_register_is(expected, alpha, beta)
    assert not SkippedEvent.objects.exists()


def test_the_missions_reports_in_any_order_and_split_give_the_same_register(two_missions):
    # given the register the reports give in their order
    alpha, beta, expected = two_missions
    events_project(mission="alpha", events=alpha)
    events_project(mission="beta", events=beta)
    in_order = register_state()
    for seed in range(25):
        rng = random.Random(seed)
        with transaction.atomic():
            ReportedDocument.objects.all().delete()
            # when each mission's reports come shuffled, some twice, split at random, and the
            # two missions' batches interleaved at random (beta's may come first)
            batches = [("alpha", b) for b in shuffled_batches(alpha, rng)]
            batches += [("beta", b) for b in shuffled_batches(beta, rng)]
            rng.shuffle(batches)
            for mission, batch in batches:
                events_project(mission=mission, events=batch)
            # then the register is the same
            assert register_state() == in_order, f"seed {seed}"
            transaction.set_rollback(True)
    assert_register_is(expected, alpha, beta)


def test_a_batch_applied_twice_or_again_in_pieces_changes_nothing(two_missions):
    alpha, beta, _ = two_missions
    events_project(mission="alpha", events=alpha)
    events_project(mission="beta", events=beta)
    once = register_state()
    project_again("alpha", alpha)
    project_again("beta", beta)
    assert register_state() == once


def test_a_report_handed_late_that_was_made_first_takes_the_row(mission_a):
    # given a loss reported at beta at noon, registered
    later = event(1, payload(kind="lost", reported_at="2026-12-01T12:00:00+00:00"))
    events_project(mission="beta", events=[later])
    # when alpha's report of the same loss, made at ten, arrives after a week offline
    earlier = event(4, payload(kind="lost", reported_at="2026-12-01T10:00:00+00:00"))
    events_project(mission="alpha", events=[earlier])
    # then the row is alpha's: the first report made, not the first to arrive
    row = ReportedDocument.objects.get()
    assert (row.mission, row.seq) == ("alpha", 4)
    # and a stolen report made before either replaces it; a loss after a theft does not
    events_project(mission="beta", events=[event(2, payload(kind="stolen"))])
    events_project(
        mission="alpha", events=[event(5, payload(kind="lost", reported_at=T0.isoformat()))]
    )
    row.refresh_from_db()
    assert (row.mission, row.seq, row.kind) == ("beta", 2, "stolen")


def test_two_reports_made_at_the_same_moment_are_ordered_by_mission_then_seq(mission_a):
    same = payload(reported_at="2026-12-01T10:00:00+00:00")
    for mission, seq in (("beta", 3), ("alpha", 9), ("alpha", 8), ("beta", 1)):
        events_project(mission=mission, events=[event(seq, same)])
    row = ReportedDocument.objects.get()
    assert (row.mission, row.seq) == ("alpha", 8)
    # and within one batch too
    ReportedDocument.objects.all().delete()
    events_project(mission="alpha", events=[event(9, same), event(8, same)])
    assert ReportedDocument.objects.values_list("mission", "seq").get() == ("alpha", 8)


def test_a_mission_date_a_day_either_side_of_the_utc_date_is_the_missions_own(mission_b):
    # 20:00 UTC on the 3rd is the 4th in Tokyo; 05:00 UTC on the 4th is the 3rd in Honolulu
    events_project(
        mission="beta",
        events=[
            event(1, payload("A1", reported_on="2026-12-04", reported_at="2026-12-03T20:00Z")),
            event(2, payload("A2", reported_on="2026-12-03", reported_at="2026-12-04T05:00Z")),
        ],
    )
    assert ReportedDocument.objects.count() == 2
    assert not SkippedEvent.objects.exists()


# --- what it refuses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("broken", "version", "reason"),
    [
        (payload(document_index=index_of("U1").upper()), 1, "document_index"),
        (payload(document_index=index_of("U1")[:63]), 1, "document_index"),
        (payload(document_index=index_of("U1") + "0"), 1, "document_index"),
        (payload(document_index=index_of("U1") + "\n"), 1, "document_index"),
        (payload(document_index="g" * 64), 1, "document_index"),
        (payload(document_index="U1234567"), 1, "document_index"),  # a number in clear
        (payload(document_index=int("1" * 64)), 1, "document_index"),
        (payload(document_index=None), 1, "document_index"),
        ({k: v for k, v in payload().items() if k != "document_index"}, 1, "document_index"),
        (payload(kind="found"), 1, "kind"),
        (payload(kind="LOST"), 1, "kind"),
        (payload(kind=["lost"]), 1, "kind"),
        (payload(kind=""), 1, "kind"),
        (payload(kind=None), 1, "kind"),
        (payload(reported_on="2026-13-01"), 1, "reported_on"),
        (payload(reported_on="yesterday"), 1, "reported_on"),
        (payload(reported_on=20261201), 1, "reported_on"),
        (payload(reported_on="2026-12-01T00:00"), 1, "reported_on"),
        (payload(reported_on="2026-11-29"), 1, "reported_on"),  # not the mission's date of it
        (payload(reported_on="0001-01-01"), 1, "reported_on"),
        (payload(reported_at="2026-12-01T10:00:00"), 1, "time zone"),
        (payload(reported_at="soon"), 1, "reported_at"),
        (payload(reported_at="9999-12-31T23:59:59+00:00"), 1, "reported_at"),
        (payload(reported_at=None), 1, "reported_at"),
        (payload(), 2, "version"),
        (["lost", index_of("U1")], 1, "payload"),
    ],
)
def test_an_event_that_breaks_the_contract_is_skipped_with_its_reason_and_the_rest_applied(
    mission_a, broken, version, reason
):
    # given a batch with a good report before and after a broken one
    good_before = event(1, payload("G0000001"), aggregate_id="1")
    bad = event(2, broken, aggregate_id="2", version=version)
    good_after = event(3, payload("G0000003", kind="stolen"), aggregate_id="3")
    # when HQ projects it
    events_project(mission="alpha", events=[good_before, bad, good_after])
    # then the broken one is recorded with its reason, and the good ones are registered
    (skipped,) = SkippedEvent.objects.all()
    assert (skipped.mission, skipped.seq, skipped.topic, skipped.projector) == (
        "alpha", 2, TOPIC, projector.NAME,
    )  # fmt: skip
    assert reason in skipped.reason
    assert sorted(ReportedDocument.objects.values_list("seq", "kind")) == [
        (1, "lost"), (3, "stolen"),
    ]  # fmt: skip
    # and the same broken event again is recorded once
    events_project(mission="alpha", events=[bad])
    assert SkippedEvent.objects.count() == 1


def _insert(**overrides: object) -> None:
    row = {
        "document_index": index_of("U1"), "kind": "lost", "mission": "alpha", "seq": 1,
        "report_id": "7", "reported_on": "2026-12-01", "reported_at": "2026-12-01T10:00Z",
    } | overrides  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO passports_register_reporteddocument"
            " (document_index, kind, mission, seq, report_id, reported_on, reported_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            list(row.values()),
        )


@pytest.mark.parametrize(
    "overrides",
    [
        {"document_index": index_of("U1").upper()},
        {"document_index": index_of("U1")[:63]},
        {"document_index": index_of("U1")[:63] + "\n"},
        {"document_index": "U1234567"},
        {"kind": "found"},
        {"seq": 0},
        {"mission": ""},
        {"report_id": ""},
        {"document_index": index_of("U2"), "seq": 1},  # a second row from alpha's event 1
        {"mission": "beta", "seq": 5},  # a second row for the same number
    ],
)
def test_the_database_refuses_a_row_that_cannot_be(db, overrides):
    # given a registered document (alpha's event 1)
    _insert()
    # when raw SQL writes a row the register cannot hold, then the database refuses it
    with pytest.raises(IntegrityError), transaction.atomic():
        _insert(**overrides)


# --- building again --------------------------------------------------------------------------


def test_the_register_is_built_again_from_hqs_event_log(two_missions):
    # given both missions' reports applied at HQ: in its event log and in the register
    alpha, beta, expected = two_missions
    central_log("alpha", alpha)
    central_log("beta", beta)
    events_project(mission="alpha", events=alpha)
    events_project(mission="beta", events=beta)
    applied = register_state()
    # when alpha's rows are damaged and alpha's register built again, in small batches
    ReportedDocument.objects.filter(mission="alpha", kind="lost").delete()
    ReportedDocument.objects.filter(mission="alpha").update(kind="lost", report_id="0")
    read = projector.reported_documents_rebuild(mission="alpha", batch_size=2)
    # then it is what applying the events made, beta's rows included
    assert read == len(alpha)
    assert register_state() == applied
    # and so it is after building beta's again, and every register through the registry
    assert registers_rebuild(mission="beta")[projector.NAME] == len(beta)
    assert register_state() == applied
    assert_register_is(expected, alpha, beta)


def test_a_rebuild_that_no_longer_takes_a_report_falls_back_on_the_other_missions(
    two_missions, monkeypatch
):
    # given both missions' reports applied at HQ
    alpha, beta, _ = two_missions
    central_log("alpha", alpha)
    central_log("beta", beta)
    events_project(mission="alpha", events=alpha)
    events_project(mission="beta", events=beta)
    # when a corrected projector refuses alpha's reports from before T0 + 30 minutes, and
    # alpha's register is built again
    read = projector.report_read

    def stricter(event: dict) -> projector.Report:
        found = read(event)
        if found.reported_at < T0 + dt.timedelta(minutes=30):
            raise projector.Unprojectable("reported_at is too early for the corrected reading")
        return found

    monkeypatch.setattr(projector, "report_read", stricter)
    projector.reported_documents_rebuild(mission="alpha")
    # then X1000001, which only alpha's refused report held, is beta's report of it now
    x = ReportedDocument.objects.get(document_index=index_of("X1000001"))
    (beta_x,) = [e for e in beta if e["payload"]["document_index"] == x.document_index]
    assert (x.mission, x.seq) == ("beta", beta_x["seq"])
    # and alpha's refused report is recorded as skipped, beta's never
    (skipped,) = SkippedEvent.objects.all()
    assert (skipped.mission, skipped.projector) == ("alpha", projector.NAME)
    # and the rest of the register is as it was
    assert ReportedDocument.objects.count() == 8


def test_the_projector_is_registered_with_sync():
    (mine,) = [p for p in projectors() if p.name == projector.NAME]
    assert mine.topics == frozenset({TOPIC}) == frozenset({PassportTopic.DOCUMENT_REPORTED.value})
    assert mine.apply is projector.reported_documents_project
    assert mine.rebuild is projector.reported_documents_rebuild


def test_a_batch_costs_the_same_statements_whatever_its_length(mission_a):
    def statements(count: int, first_seq: int) -> int:
        events = [
            event(first_seq + n, payload(f"N{first_seq + n:07d}"), aggregate_id=str(n + 1))
            for n in range(count)
        ]
        events.append(event(first_seq + count, payload(kind="found")))  # and one to skip
        with CaptureQueriesContext(connection) as queries:
            events_project(mission="alpha", events=events)
        return len(queries)

    assert statements(1, 1) == statements(300, 100)
    assert ReportedDocument.objects.count() == 301


# --- reading it ------------------------------------------------------------------------------


def test_a_document_is_found_by_its_index_in_one_query(two_missions, django_assert_num_queries):
    # given the register
    alpha, beta, _ = two_missions
    events_project(mission="alpha", events=alpha)
    events_project(mission="beta", events=beta)
    # when HQ looks up a number reported, then it is found in one query
    with django_assert_num_queries(1):
        found = selectors.reported_document_find(document_index=index_of("Z1000003"))
    assert found is not None
    assert (found.mission, found.kind) == ("beta", "stolen")
    # and a number never reported, or an index HQ does not compute, is not found
    with django_assert_num_queries(1):
        assert selectors.reported_document_find(document_index=index_of("Q9999999")) is None
    assert selectors.reported_document_find(document_index=index_of("Z1000003").upper()) is None
    assert selectors.reported_document_find(document_index="Z1000003") is None


def test_a_mission_finds_a_document_another_mission_reported(
    two_missions, django_assert_num_queries
):
    # given Tokyo's report registered at HQ
    _, beta, _ = two_missions
    events_project(mission="beta", events=beta)
    # when Berlin, in its own schema, looks up the number presented at its counter
    with schema_context("alpha"):
        # (a request has set its search path by the time a view reads: this sets it here)
        assert DocumentReport.objects.count() == 7  # its own reports
        number_index = blind_index("W1000004", schema_name="public", purpose="travel_document")
        with django_assert_num_queries(1):
            found = selectors.reported_document_find(document_index=number_index)
        # then it reads HQ's register through its search path, in one query
        assert found is not None
        assert (found.mission, found.kind) == ("beta", "lost")
        # and the mission's own index of the number (under its own key) is not HQ's
        own = blind_index("W1000004", schema_name="alpha", purpose="travel_document")
        assert selectors.reported_document_find(document_index=own) is None


def test_the_list_is_newest_first_per_mission_in_one_query(two_missions, django_assert_num_queries):
    alpha, beta, _ = two_missions
    events_project(mission="alpha", events=alpha)
    events_project(mission="beta", events=beta)
    with django_assert_num_queries(1):
        every = selectors.reported_document_list()
    assert [d.reported_at for d in every] == sorted((d.reported_at for d in every), reverse=True)
    assert len(every) == 8
    with django_assert_num_queries(1):
        at_alpha = selectors.reported_document_list(mission="alpha")
    assert [d.document_index for d in at_alpha] == [
        index_of(number) for number in ("T1000006", "A2000002", "A2000001", "Y1000002", "X1000001")
    ]
    assert [d.document_index for d in selectors.reported_document_list(limit=2)] == [
        d.document_index for d in every[:2]
    ]
    assert selectors.reported_document_list(mission="gamma") == []


@pytest.mark.parametrize("limit", [0, -1, selectors.MAX_LIST + 1])
def test_a_list_limit_out_of_range_is_refused(db, limit):
    with pytest.raises(ValueError, match="limit"):
        selectors.reported_document_list(limit=limit)


# --- two missions at once --------------------------------------------------------------------


def test_two_missions_applying_the_same_numbers_at_once_neither_deadlock_nor_lose_one(
    committed_db,
):
    import threading

    from django.db import connections

    # given two missions' batches of reports of the same 2000 numbers, one listing them in the
    # opposite order of the other; the first reported the even ones first, the second the odd
    numbers = [f"C{n:07d}" for n in range(2000)]
    codes = ("tconc_a", "tconc_b")

    def batch(mission: str) -> list[dict]:
        ordered = numbers if mission == codes[0] else numbers[::-1]
        events = []
        for seq, number in enumerate(ordered, start=1):
            first = (int(number[1:]) % 2 == 0) == (mission == codes[0])
            at = T0 if first else T0 + dt.timedelta(minutes=1)
            events.append(event(seq, payload(number, reported_at=at.isoformat())))
        return events

    batches = {code: batch(code) for code in codes}
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def apply(mission: str) -> None:
        try:
            ReportedDocument.objects.exists()  # connected before the start
            barrier.wait()
            # as HQ's apply: the batch projected in the bundle's transaction, held to its end
            with transaction.atomic():
                events_project(mission=mission, events=batches[mission])
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    try:
        for _ in range(3):
            ReportedDocument.objects.filter(mission__in=codes).delete()
            # when both apply at the same moment
            threads = [threading.Thread(target=apply, args=(code,)) for code in codes]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            # then neither failed nor had its batch skipped (`events_project` records a batch
            # the database refused, a deadlock or a unique violation, as skipped events)
            assert errors == []
            assert not SkippedEvent.objects.filter(mission__in=codes).exists()
            # and each number is held by the report made first
            owners = dict(
                ReportedDocument.objects.filter(mission__in=codes).values_list(
                    "document_index", "mission"
                )
            )
            assert owners == {index_of(number): codes[int(number[1:]) % 2] for number in numbers}
    finally:
        ReportedDocument.objects.filter(mission__in=codes).delete()
        SkippedEvent.objects.filter(mission__in=codes).delete()
