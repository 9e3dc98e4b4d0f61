"""Settled data keys are cached at once, so a request transaction does not pay a query per
encrypted value; a key of a rotation still in flight is not cached before it commits."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consulate.kernel.crypto import envelope
from consulate.kernel.crypto.models import DataKey


def test_a_settled_key_is_read_once_per_process(in_mission_a):
    # given alpha's key, created long ago, and a cold cache
    DataKey.objects.filter(schema_name="alpha").update(
        created_at=timezone.now() - dt.timedelta(days=1)
    )
    envelope.clear_key_cache("alpha")
    # when many values are encrypted and decrypted in one transaction (the test's)
    with CaptureQueriesContext(connection) as queries:
        blobs = [envelope.encrypt(f"P{n}", schema_name="alpha", context="t.T.f") for n in range(20)]
        assert [envelope.decrypt(b, schema_name="alpha", context="t.T.f") for b in blobs] == [
            f"P{n}" for n in range(20)
        ]
    # then the key was read from the database once
    assert len([q for q in queries if "crypto_datakey" in q["sql"]]) == 1


def test_a_fresh_key_is_not_cached_before_its_transaction_commits(in_mission_a):
    # given a key row just created in this (never committed) transaction
    DataKey.objects.filter(schema_name="alpha").update(created_at=timezone.now())
    envelope.clear_key_cache("alpha")
    # when it is used
    envelope.encrypt("P1", schema_name="alpha", context="t.T.f")
    # then it is not in the process cache (a rollback could still hand its id to another key)
    assert ("alpha", envelope.active_key_id("alpha")) not in envelope._data_keys
