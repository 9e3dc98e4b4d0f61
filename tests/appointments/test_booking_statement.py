"""The booking's writes as one statement (appointments/services/booking_statement.py): the rows
it writes are the rows the ORM, simple-history and `outbox_event_record` would write."""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.db.models import Model

from appointments import services
from appointments.events import AppointmentTopic
from appointments.models import Booking, BookingPerson, ConfirmationDue, Slot
from appointments.services.booking_statement import HISTORY_OWN, _statement
from appointments.services.places import booking_write
from consulate.kernel.actors import SYSTEM
from consulate.kernel.history import set_acting_user
from sync.models import OutboxEvent
from sync.services import outbox_event_record
from tests.appointments.conftest import first_free_slot, person


def _values(row: Model, *, leave_out: set[str]) -> dict[str, object]:
    """Every column of a row as the ORM reads it back (encrypted ones decrypted)."""
    return {
        field.attname: getattr(row, field.attname)
        for field in row._meta.concrete_fields
        if field.attname not in leave_out
    }


def _book(catalogue, user, acting_user, persons):
    slot = Slot.objects.select_related("service").get(pk=first_free_slot(catalogue).pk)
    with transaction.atomic():
        return booking_write(
            slot=slot, persons=persons, user=user, language="tr", acting_user=acting_user
        )


@pytest.mark.parametrize("actor", ["citizen", "system", "link"])
def test_history_rows_are_what_simple_history_writes(catalogue, citizen, actor):
    acting_user = {"citizen": citizen, "system": SYSTEM, "link": None}[actor]
    # given a booking for two people, written in one statement
    booking = _book(
        catalogue, citizen, acting_user, [person("U1234567"), person("X7654321", "Bob Example")]
    )
    # when simple-history itself records the same rows (a save that changes nothing: the
    # history row copies the instance as it was read, with the statement's date and actor)
    ours = [booking.history.get()] + [p.history.get() for p in booking.persons.all()]
    loaded = [Booking.objects.get(pk=booking.pk), *booking.persons.all()]
    for row, history in zip(loaded, ours, strict=True):
        row._history_date = history.history_date
        set_acting_user(row, acting_user)
        row.save(update_fields=["is_holding"] if isinstance(row, BookingPerson) else ["status"])
    theirs = [booking.history.first()] + [p.history.first() for p in booking.persons.all()]
    # then each of our rows holds, column by column, what simple-history's holds
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine.history_id != reference.history_id
        assert (mine.history_type, reference.history_type) == ("+", "~")
        leave_out = {"history_id", "history_type"}
        assert _values(mine, leave_out=leave_out) == _values(reference, leave_out=leave_out)
        assert mine.history_user_id == getattr(acting_user, "pk", None)


def test_a_booking_reads_back_as_written(catalogue, citizen):
    # given a booking written in one statement
    booking = _book(catalogue, citizen, citizen, [person("U1234567")])
    # then the ORM reads back every column of the booking as it was in memory
    stored = Booking.objects.get(pk=booking.pk)
    assert _values(stored, leave_out=set()) == _values(booking, leave_out=set())
    assert (stored.status, stored.language, stored.email) == ("active", "tr", citizen.email)
    # and its person, encrypted at rest and blind-indexed as the ORM does
    (row,) = booking.persons.all()
    assert (row.full_name, row.date_of_birth, row.document_number) == (
        "Ada Example",
        dt.date(1990, 5, 17),
        "U1234567",
    )
    assert row.service_id == catalogue.pk
    assert row.is_holding
    assert BookingPerson.objects.filter(document_index__matches="u 123-4567").get() == row
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT full_name, document_number FROM appointments_historicalbookingperson"
            " WHERE id = %s",
            [row.pk],
        )
        name, number = cursor.fetchone()
    assert b"Ada" not in bytes(name)
    assert b"U1234567" not in bytes(number)
    # and the slot holds one place more
    assert Slot.objects.get(pk=booking.slot_id).booked == 1
    # and no confirmation is due unless asked for; asked for, it is due at once
    assert not ConfirmationDue.objects.exists()
    slot = Slot.objects.select_related("service").get(pk=first_free_slot(catalogue).pk)
    confirmed = booking_write(
        slot=slot, persons=[person("U7654321")], user=citizen, language="tr",
        acting_user=citizen, confirm=True,
    )  # fmt: skip
    due = ConfirmationDue.objects.get()
    assert (due.booking_id, due.attempts, due.next_attempt_at) == (confirmed.pk, 0, None)


def test_the_event_in_the_statement_is_what_outbox_event_record_writes(catalogue, citizen):
    # given a booking written in one statement, its event with it
    booking = _book(catalogue, citizen, citizen, [person()])
    mine = OutboxEvent.objects.get(topic=AppointmentTopic.BOOKING_CREATED)
    # when outbox_event_record records the same event
    with transaction.atomic():
        reference = outbox_event_record(
            topic=AppointmentTopic.BOOKING_CREATED,
            aggregate_id=booking.pk,
            payload=mine.payload,
            acting_user=citizen,
        )
    reference.refresh_from_db()
    # then the rows differ only in their id, sequence number and time, and the sequence has no gap
    leave_out = {"id", "seq", "occurred_at"}
    assert _values(mine, leave_out=leave_out) == _values(reference, leave_out=leave_out)
    assert mine.aggregate_id == str(booking.pk)
    assert reference.seq == mine.seq + 1
    assert mine.payload == {
        "reference": booking.reference,
        "service": catalogue.code,
        "starts_at": booking.slot.starts_at.isoformat(),
        "persons": 1,
        "channel": "online",
    }


def test_a_full_slot_or_a_held_document_leaves_nothing(catalogue, citizen):
    from appointments.error_codes import AppointmentError
    from consulate.kernel.errors import ApplicationError
    from tests.factories import UserFactory

    # given a booking, and its slot then full
    first = services.booking_create(
        slot_id=first_free_slot(catalogue).pk, service=catalogue, persons=[person()],
        user=citizen, language="en", acting_user=citizen,
    )  # fmt: skip
    Slot.objects.filter(pk=first.slot_id).update(capacity=1)
    kinds = (Booking, BookingPerson, OutboxEvent, ConfirmationDue)
    counts = [model.objects.count() for model in kinds]
    histories = [Booking.history.count(), BookingPerson.history.count()]
    other = UserFactory()
    # when another person books the full slot, and the same document books another slot
    for slot, number, code in (
        (first.slot_id, "Z9999999", AppointmentError.SLOT_FULL),
        (first_free_slot(catalogue, skip=2).pk, "U1234567", AppointmentError.ALREADY_BOOKED),
    ):
        with pytest.raises(ApplicationError) as error:
            services.booking_create(
                slot_id=slot, service=catalogue, persons=[person(number)], user=other,
                language="en", acting_user=other,
            )  # fmt: skip
        # then each is refused with its reason, and no row of it stays
        assert error.value.code == code
        assert [m.objects.count() for m in kinds] == counts
        assert [Booking.history.count(), BookingPerson.history.count()] == histories
    assert Slot.objects.get(pk=first.slot_id).booked == 1


def test_the_statement_names_every_history_column(in_mission_a):
    # every column of the history tables but their serial is in the statement
    sql = _statement(2, True, True)
    for model in (Booking, BookingPerson):
        history = model.history.model
        for field in history._meta.concrete_fields:
            if field.attname == "history_id":
                continue
            assert f'"{field.column}"' in sql
        own = {f.attname for f in history._meta.concrete_fields} - {
            f.attname for f in history.tracked_fields
        }
        assert own == {"history_id", *HISTORY_OWN}


def test_a_value_longer_than_its_column_is_refused_not_cut(catalogue, citizen):
    # given a booking whose language (a short text column) is far too long
    from django.db import DataError

    slot = first_free_slot(catalogue)
    # when it is written, then the column refuses it, as the ORM's INSERT would
    with pytest.raises(DataError), transaction.atomic():
        booking_write(
            slot=slot, persons=[person()], user=citizen, language="x" * 300, acting_user=citizen
        )


def _indexes(table: str) -> list[str]:
    """The columns of each index on `table` in the mission's own schema, as "a,b", sorted (an
    index made twice is listed twice)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM pg_index i"
            " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
            " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
            " WHERE i.indrelid = format('%%I.%%I', current_schema(), %s)::regclass"
            " GROUP BY i.indexrelid",
            [table],
        )
        return sorted(columns for (columns,) in cursor.fetchall())


def test_a_booking_writes_only_the_index_entries_that_are_read(in_mission_a):
    # history is read by the row it records and by time (and by whom, for a repeated step);
    # a slot by its id and by service and time
    history = ["history_date", "history_id", "history_user_id", "id"]
    assert _indexes("appointments_historicalbooking") == history
    assert _indexes("appointments_historicalbookingperson") == history
    assert _indexes("appointments_slot") == ["id", "service_id,starts_at"]


def test_taking_a_place_changes_no_index(catalogue, citizen):
    # given a mission's slots, written with room left on their pages
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = 'appointments_slot'::regclass")
        assert cursor.fetchone()[0] == ["fillfactor=80"]

    def updates() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables"
                " WHERE relid = 'appointments_slot'::regclass"
            )
            return cursor.fetchone()

    before = updates()
    # when a booking takes a place in one of them
    _book(catalogue, citizen, citizen, [person()])
    # then the slot's row was updated once, beside the old one (HOT: no index entry written)
    after = updates()
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)
