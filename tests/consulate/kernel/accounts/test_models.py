"""Account names are personal data: encrypted at rest under the public schema's key (rows and
history), read back in clear wherever the account is loaded, found by exact name through the
blind index."""

from django.db import connection
from django.db.models import Q
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from missions.services import account_update
from tests.factories import UserFactory

FIRST, LAST, RENAMED = "Şükriye", "Marker-Karaosmanoğlu", "Zübeyde"


def raw_rows(table: str, column: str, pk: int) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM public."{table}" WHERE "{column}" = %s', [pk])
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_a_raw_read_of_accounts_and_their_history_shows_no_name(db):
    # given an account whose first name was changed, so that history holds both names
    person = UserFactory(first_name=FIRST, last_name=LAST)
    account_update(user=person, acting_user=SYSTEM, first_name=RENAMED)
    # when its row and its history rows are read with plain SQL
    rows = raw_rows("accounts_user", "id", person.pk)
    rows += raw_rows("accounts_historicaluser", "id", person.pk)
    assert len(rows) == 3
    # then no name is there, in any spelling; the columns hold ciphertext
    dump = repr(rows).encode() + b"".join(
        bytes(value)
        for row in rows
        for value in row.values()
        if isinstance(value, (bytes, memoryview))
    )
    for name in (FIRST, LAST, RENAMED, "Karaosmano"):
        for spelling in (name, name.upper(), name.lower()):
            assert spelling.encode() not in dump, spelling
            assert spelling.encode().hex() not in dump.decode(errors="replace"), spelling
    assert all(isinstance(row["first_name"], (bytes, memoryview)) for row in rows)


def test_names_read_back_in_clear_from_any_schema(mission_a):
    person = UserFactory(first_name=FIRST, last_name=LAST)
    # at HQ, and on a mission's connection (its key is not the mission's)
    for schema in ("public", mission_a.schema_name):
        with schema_context(schema):
            loaded = User.objects.get(pk=person.pk)
            assert (loaded.first_name, loaded.last_name) == (FIRST, LAST)
            assert loaded.history.earliest().first_name == FIRST


def test_an_exact_name_is_found_through_the_blind_index(mission_a):
    # given two accounts
    person = UserFactory(first_name=FIRST, last_name=LAST)
    UserFactory(first_name="Ayşe", last_name="Yılmaz")
    # when searched by an exact first or last name, in any case and spacing
    for term in (FIRST, "ŞÜKRİYE".replace("İ", "I"), "marker karaosmanoğlu", LAST):
        found = User.objects.filter(
            Q(first_name_index__matches=term) | Q(last_name_index__matches=term)
        )
        # then only that account is found, from a mission's connection as well
        assert list(found) == [person], term
    with schema_context(mission_a.schema_name):
        assert list(User.objects.filter(last_name_index__matches=LAST)) == [person]
    # and a renamed account is found by its new name only
    account_update(user=person, acting_user=SYSTEM, first_name=RENAMED)
    assert list(User.objects.filter(first_name_index__matches=RENAMED)) == [person]
    assert not User.objects.filter(first_name_index__matches=FIRST).exists()


def test_an_account_without_names_has_empty_names(db):
    person = User.objects.create_user("nameless@example.org", "correct horse battery")
    loaded = User.objects.get(pk=person.pk)
    assert (loaded.first_name, loaded.last_name, loaded.first_name_index) == ("", "", "")
