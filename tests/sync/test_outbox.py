import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from consulate.kernel.actors import SYSTEM
from consulate.kernel.events import EventTopic
from sync.models import OutboxEvent
from sync.services import OutboxUsageError, outbox_event_record


class ProbeTopic(EventTopic):
    """Topics of these tests only (an app's would live in its events.py)."""

    HAPPENED = "tests.probe.happened"
    BADLY_NAMED = "tests.happened"


def record(topic: ProbeTopic = ProbeTopic.HAPPENED) -> OutboxEvent:
    return outbox_event_record(topic=topic, aggregate_id=1, payload={}, acting_user=SYSTEM)


def test_sequence_continues_from_the_mission_opening_event(in_mission_a):
    # given the mission's outbox, which starts with its opening event
    last = OutboxEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    # when two events are recorded
    with transaction.atomic():
        first, second = record(), record()
    # then they take the next two numbers
    assert (first.seq, second.seq) == (last + 1, last + 2)


def test_an_event_names_its_topic_and_aggregate_and_who(in_mission_a, officer_a):
    with transaction.atomic():
        event = outbox_event_record(
            topic=ProbeTopic.HAPPENED, aggregate_id=42, payload={"n": 1}, acting_user=officer_a,
            version=2,
        )  # fmt: skip
    event.refresh_from_db()
    assert (event.topic, event.aggregate_type, event.aggregate_id) == (
        "tests.probe.happened", "probe", "42",
    )  # fmt: skip
    assert (event.payload, event.version, event.actor_id) == ({"n": 1}, 2, officer_a.pk)


def test_a_system_event_has_no_actor(in_mission_a):
    with transaction.atomic():
        assert record().actor_id is None


def test_recording_in_the_public_schema_is_refused(db):
    with pytest.raises(OutboxUsageError), transaction.atomic():
        record()


@pytest.mark.parametrize("topic", ["tests.probe.happened", ProbeTopic.BADLY_NAMED])
def test_only_a_well_named_topic_member_is_accepted(in_mission_a, topic):
    # a plain string (even a well-formed one) or a member not named <app>.<entity>.<verb>
    before = OutboxEvent.objects.count()
    with pytest.raises(OutboxUsageError), transaction.atomic():
        outbox_event_record(topic=topic, aggregate_id=1, payload={}, acting_user=SYSTEM)
    assert OutboxEvent.objects.count() == before


def test_an_event_made_for_a_statement_is_checked_as_a_recorded_one(in_mission_a):
    # outbox_event_new (the booking's one statement) refuses what outbox_event_record refuses,
    # and sealed data without the aggregate it is bound to
    from sync.services import SealedForHq, outbox_event_new

    with pytest.raises(OutboxUsageError):
        outbox_event_new(
            topic="tests.probe.happened", aggregate_id=1, payload={}, acting_user=SYSTEM
        )  # type: ignore[arg-type]
    with pytest.raises(OutboxUsageError):
        outbox_event_new(
            topic=ProbeTopic.HAPPENED, aggregate_id=None, payload={}, acting_user=SYSTEM,
            sealed_for_hq=SealedForHq(mission="alpha", data={"name": "Ada"}),
        )  # fmt: skip
    made = outbox_event_new(topic=ProbeTopic.HAPPENED, aggregate_id=7, payload={}, acting_user=None)
    assert (made.pk, made.aggregate_id, made.actor_id) == (None, "7", None)


@pytest.mark.parametrize("statement", [
    "UPDATE sync_outboxevent SET topic = 'forged'",
    "DELETE FROM sync_outboxevent",
    "TRUNCATE sync_outboxevent",
    "DELETE FROM sync_outboxcounter",
    "UPDATE sync_outboxcounter SET last_seq = last_seq + 5",
    "UPDATE sync_outboxcounter SET last_seq = last_seq - 1",
])  # fmt: skip
def test_raw_sql_cannot_rewrite_the_outbox(in_mission_a, statement):
    # given an event
    with transaction.atomic():
        record()
    # when raw SQL tries to rewrite history
    with (
        pytest.raises((InternalError, IntegrityError)),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)


def test_a_raw_insert_cannot_choose_its_sequence_number(in_mission_a):
    # given the last number
    last = OutboxEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    # when raw SQL inserts with a number of its own choosing
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO sync_outboxevent (seq, topic, aggregate_type, aggregate_id, payload,"
            " occurred_at) VALUES (999999, 'raw', 'x', '1', '{}', now()) RETURNING seq"
        )
        (seq,) = cursor.fetchone()
    # then the database gives it the next number instead
    assert seq == last + 1


def test_the_counter_cannot_step_without_an_event(in_mission_a):
    # given an event
    with transaction.atomic():
        record()
    # when raw SQL moves the counter by one with no event to carry the number
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SAVEPOINT before_step")
        cursor.execute("UPDATE sync_outboxcounter SET last_seq = last_seq + 1")
        # then the check that runs at commit refuses it
        with pytest.raises((InternalError, IntegrityError), match="no event has that number"):
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ROLLBACK TO SAVEPOINT before_step")
    # and the next event still takes the next number: no gap
    last = OutboxEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    with transaction.atomic():
        assert record().seq == last + 1
