"""Reference data down: HQ publishes signed versions; a mission reads only its own copy, applies
a version only if HQ's trusted key signed it and it is newer, and keeps its copy otherwise."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import HqRole
from consulate.kernel.actors import SYSTEM
from fees.money import Money
from fees.reference.models import ExchangeRate, ExemptionCategory, FeeScheduleEntry
from fees.reference.selectors import fee_schedule_entry_in_force
from fees.reference.services import fee_schedule_entry_publish, rounding_rule_set
from fees.selectors import fee_quote
from missions.services import mission_create
from sync import reference as ref
from sync import tasks
from sync.bundle import SignedBundle, bundle_sign, signing_key_generate
from sync.error_codes import BundleRefusal
from sync.hq.models import ReferenceVersion
from sync.models import SyncLink, TrustedKey
from tests.conftest import BETA
from tests.consulate.test_database_roles import app_role_on_this_connection
from tests.factories import UserFactory
from tests.fees.factories import seed_fee_reference

MARCH = dt.date(2026, 3, 1)


@pytest.fixture
def seeded(db):  # type: ignore[no-untyped-def]
    """HQ's demo data, published and applied to every mission (as the fee tests have it)."""
    seed_fee_reference()
    connection.set_schema_to_public()


def visa_fee(schema: str) -> int:
    with schema_context(schema):
        entry = fee_schedule_entry_in_force(service="visa", on=MARCH)
        assert entry is not None
        return entry.amount_minor


def new_visa_fee_at_hq(amount_minor: int, valid_from: dt.date = dt.date(2026, 2, 1)) -> None:
    fee_schedule_entry_publish(
        service="visa", amount=Money(amount_minor, "EUR"), valid_from=valid_from, acting_user=SYSTEM
    )


def publish() -> SignedBundle:
    version = ref.reference_publish(acting_user=SYSTEM)
    assert version is not None
    return SignedBundle.from_bytes(bytes(version.data))


def link(schema: str) -> SyncLink:
    with schema_context(schema):
        return SyncLink.objects.get(id=1)


def apply_in(schema: str, frame: SignedBundle) -> bool:
    with schema_context(schema):
        return ref.reference_apply(frame)


def copy_of(schema: str) -> dict:  # type: ignore[type-arg]
    return ref.reference_content(schema=schema)


# --- A mission reads its own copy ---------------------------------------------------------------


def test_a_mission_reads_its_copy_not_hqs_table(seeded, mission_a, mission_b):
    # given the 80.00 EUR visa fee at HQ and in both missions' copies
    assert visa_fee(mission_a.schema_name) == visa_fee(mission_b.schema_name) == 8000
    # when HQ changes its table without publishing (a new fee; a rate rewritten in raw SQL)
    new_visa_fee_at_hq(9000)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE public.fees_reference_exchangerate SET rate = 1 WHERE currency = 'JPY'"
        )
    # then HQ reads the change and the missions do not
    assert visa_fee("public") == 9000
    assert visa_fee(mission_a.schema_name) == 8000
    with schema_context(mission_b.schema_name):
        assert fee_quote(service="passport_application").rate == Decimal("172.35")
    # when HQ publishes and the missions apply it
    frame = publish()
    assert apply_in(mission_a.schema_name, frame)
    assert apply_in(mission_b.schema_name, frame)
    # then they read the new fee and the new rate, each from its own schema
    assert visa_fee(mission_a.schema_name) == visa_fee(mission_b.schema_name) == 9000
    with schema_context(mission_b.schema_name):
        assert fee_quote(service="passport_application").rate == Decimal("1")
    assert copy_of(mission_a.schema_name) == copy_of("public")


def test_each_mission_schema_has_its_own_tables_and_guard(seeded, mission_a):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE t.tgname = 'fees_ref_schedule_guard' ORDER BY 1"
        )
        schemas = {name for (name,) in cursor.fetchall()}
    assert {"public", mission_a.schema_name, "mission_template"} <= schemas


def test_hqs_services_write_hqs_table_even_from_a_missions_schema(seeded, mission_a):
    # given an HQ admin whose connection is on a mission's schema
    admin = UserFactory(hq_role=HqRole.ADMIN)
    with schema_context(mission_a.schema_name):
        new_fee = fee_schedule_entry_publish(
            service="visa", amount=Money(9500, "EUR"), valid_from=dt.date(2026, 2, 1),
            acting_user=admin,
        )  # fmt: skip
        # then the mission's copy is untouched: only sync writes it
        assert not FeeScheduleEntry.objects.filter(pk=new_fee.pk).exists()
        assert connection.schema_name == mission_a.schema_name
    # and HQ's table has the new fee
    assert FeeScheduleEntry.objects.filter(pk=new_fee.pk, amount_minor=9500).exists()


def test_raw_sql_as_the_application_on_the_copy_meets_the_same_guards(seeded, in_mission_a):
    app_role_on_this_connection()
    for sql in (
        "UPDATE fees_reference_feescheduleentry SET amount_minor = 1",
        "UPDATE fees_reference_feescheduleentry SET valid_from = '2020-01-01'",
        "DELETE FROM fees_reference_feescheduleentry",
    ):
        with pytest.raises(DatabaseError, match="fee schedule"), transaction.atomic():
            connection.cursor().execute(sql)
    with pytest.raises(DatabaseError, match="fees_ref_rate_positive"), transaction.atomic():
        connection.cursor().execute("UPDATE fees_reference_exchangerate SET rate = -1")
    assert visa_fee(in_mission_a.schema_name) == 8000


# --- Publishing ---------------------------------------------------------------------------------


def test_a_version_is_published_only_when_the_content_changed(seeded):
    latest = ReferenceVersion.objects.order_by("-version").first()
    # nothing changed since the seed's version: nothing new
    assert ref.reference_publish(acting_user=SYSTEM) is None
    # a change: the next version, signed, holding every column of every row
    rounding_rule_set(currency="JPY", increment_minor=1000, mode="up", acting_user=SYSTEM)
    frame = publish()
    header, data = frame.header, frame.content["data"]
    assert (header["kind"], header["version"], header["sets"]) == (
        "reference", latest.version + 1, ["fees", "visas"],
    )  # fmt: skip
    assert set(header) == {"format", "kind", "version", "created_at", "key_id", "sets"}
    rows = data["fees"]["fees_reference.ExemptionCategory"]
    child = next(row for row in rows if row["code"] == "child-under-6")
    assert {"id", "name_en", "name_tr", "created_at", "updated_at"} <= set(child)
    assert child["name_tr"] == "6 yaşından küçük çocuklar"
    jpy = next(r for r in data["fees"]["fees_reference.ExchangeRate"] if r["currency"] == "JPY")
    assert (jpy["rate"], jpy["effective_date"]) == ("172.3500000000", "2026-01-01")
    assert ref.reference_latest_after(latest.version).body == frame.body
    assert ref.reference_latest_after(header["version"]) is None


def test_changes_in_one_transaction_publish_once_after_commit(
    seeded, mission_a, django_capture_on_commit_callbacks, monkeypatch
):
    # given the in-database deployment's fan-out, run here instead of by a worker
    monkeypatch.setattr(tasks.reference_fan_out, "delay", lambda: tasks.reference_fan_out.run())
    monkeypatch.setattr(
        tasks.reference_apply_latest_task,
        "delay",
        lambda: tasks.reference_apply_latest_task.run(),
    )
    before = ReferenceVersion.objects.count()
    # when an HQ admin changes two things in one transaction, and it commits
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        new_visa_fee_at_hq(9900)
        rounding_rule_set(currency="JPY", increment_minor=1000, mode="up", acting_user=SYSTEM)
    # then one version is published and every mission has applied it
    assert ReferenceVersion.objects.count() == before + 1
    assert visa_fee(mission_a.schema_name) == 9900
    assert link(mission_a.schema_name).reference_version == ReferenceVersion.objects.first().version


def test_a_change_that_rolls_back_publishes_nothing(seeded, django_capture_on_commit_callbacks):
    before = ReferenceVersion.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                new_visa_fee_at_hq(9900)
                raise RuntimeError("changed my mind")
        except RuntimeError:
            pass
    assert callbacks == []
    assert ReferenceVersion.objects.count() == before


def test_the_command_prints_the_version(seeded):
    out = io.StringIO()
    call_command("reference_publish", stdout=out)
    assert "unchanged" in out.getvalue()
    new_visa_fee_at_hq(9100)
    out = io.StringIO()
    call_command("reference_publish", "--apply", stdout=out)
    version = ReferenceVersion.objects.first().version
    assert f"reference data v{version} published (fees, visas;" in out.getvalue()
    assert re.search(r"applied in [1-9]\d* mission schema\(s\)", out.getvalue())


# --- What a mission refuses ---------------------------------------------------------------------


def _refused(schema: str, frame: SignedBundle, code: object) -> None:
    before_copy, before_link = copy_of(schema), link(schema)
    with schema_context(schema):
        with pytest.raises(ref.ReferenceRefused) as refused:
            ref.reference_apply_checked(frame)
        assert refused.value.code is code
        assert ref.reference_apply(frame) is False
    after = link(schema)
    assert copy_of(schema) == before_copy
    assert (after.reference_version, after.reference_received_at) == (
        before_link.reference_version,
        before_link.reference_received_at,
    )


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_a_tampered_version_is_refused_whole(seeded, mission_a):
    # given a genuine new version
    new_visa_fee_at_hq(9000)
    frame = publish()
    body = frame.body
    # when one byte changes in the header, in a row, or in the signature
    header_at = body.index(b'"version":') + len(b'"version":')
    row_at = body.index(b'"amount_minor":9000') + len(b'"amount_minor":900')
    for tampered in (
        SignedBundle(_flip(body, header_at), frame.signature),
        SignedBundle(_flip(body, row_at), frame.signature),
        SignedBundle(body, _flip(frame.signature, 10)),
    ):
        # then the mission refuses it and its copy and version stay as they were
        _refused(mission_a.schema_name, tampered, BundleRefusal.BAD_SIGNATURE)
    assert visa_fee(mission_a.schema_name) == 8000
    # and the genuine one applies
    assert apply_in(mission_a.schema_name, frame)
    assert visa_fee(mission_a.schema_name) == 9000


def test_an_older_version_after_a_newer_is_refused_and_applying_twice_changes_nothing(
    seeded, mission_a
):
    new_visa_fee_at_hq(9000)
    older = publish()
    new_visa_fee_at_hq(9500, valid_from=dt.date(2026, 2, 15))
    newer = publish()
    assert apply_in(mission_a.schema_name, newer)
    # the older one, arriving late, is refused; the newer one again changes nothing
    _refused(mission_a.schema_name, older, ref.ReferenceRefusal.NOT_NEWER)
    _refused(mission_a.schema_name, newer, ref.ReferenceRefusal.NOT_NEWER)
    assert visa_fee(mission_a.schema_name) == 9500


def test_a_version_signed_by_a_key_the_mission_does_not_trust_is_refused(seeded, mission_a):
    # given a version as HQ would send it, signed by someone else's key under HQ's key id
    new_visa_fee_at_hq(1)
    genuine = publish()
    forger, _public = signing_key_generate()
    forged = bundle_sign(genuine.content, forger)
    _refused(mission_a.schema_name, forged, BundleRefusal.BAD_SIGNATURE)
    # or naming a key the mission has never heard of
    content = {**genuine.content, "header": {**genuine.header, "key_id": 99}}
    _refused(mission_a.schema_name, bundle_sign(content, forger), BundleRefusal.UNKNOWN_KEY)
    # or signed by HQ's key once the mission has learnt it is revoked
    with schema_context(mission_a.schema_name):
        TrustedKey.objects.filter(purpose="sign").update(revoked_at=timezone.now())
    _refused(mission_a.schema_name, genuine, BundleRefusal.UNKNOWN_KEY)
    assert visa_fee(mission_a.schema_name) == 8000


def test_a_version_that_would_rewrite_a_fee_is_refused_by_the_copys_guard(seeded, mission_a):
    # given HQ's table rewritten by its owner behind the guard's back (the only way it can be)
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE public.fees_reference_feescheduleentry"
            " DISABLE TRIGGER fees_ref_schedule_guard"
        )
        cursor.execute(
            "UPDATE public.fees_reference_feescheduleentry SET amount_minor = 1"
            " WHERE service = 'visa'"
        )
        cursor.execute(
            "ALTER TABLE public.fees_reference_feescheduleentry"
            " ENABLE TRIGGER fees_ref_schedule_guard"
        )
    frame = publish()
    # when the mission applies the version, its copy's guard refuses it, and nothing changes
    before = copy_of(mission_a.schema_name)
    assert apply_in(mission_a.schema_name, frame) is False
    assert copy_of(mission_a.schema_name) == before
    assert link(mission_a.schema_name).reference_version == frame.header["version"] - 1
    assert visa_fee(mission_a.schema_name) == 8000


def test_a_malformed_version_is_refused(seeded, mission_a):
    genuine = publish_after_change()
    key = _hq_private()
    for content in (
        {**genuine.content, "header": {**genuine.header, "kind": "events"}},
        {**genuine.content, "data": {"fees": {"fees_reference.FeeScheduleEntry": [{"x": 1}]}}},
    ):
        _refused(mission_a.schema_name, bundle_sign(content, key), BundleRefusal.MALFORMED)
    with pytest.raises(RuntimeError):
        ref.reference_apply(genuine)  # in public: a copy is never applied to HQ's tables


def publish_after_change() -> SignedBundle:
    rounding_rule_set(currency="JPY", increment_minor=1000, mode="up", acting_user=SYSTEM)
    return publish()


def _hq_private() -> bytes:
    from sync.keys import hq_key_ensure, hq_key_private

    return hq_key_private(hq_key_ensure("sign"))


# --- New missions, pages ------------------------------------------------------------------------


def test_a_new_mission_starts_with_the_newest_version(seeded):
    new_visa_fee_at_hq(9300)
    version = publish().header["version"]
    gamma = mission_create(acting_user=SYSTEM, **{**BETA, "code": "gamma"})
    assert visa_fee(gamma.schema_name) == 9300
    assert link(gamma.schema_name).reference_version == version
    with schema_context(gamma.schema_name):
        assert ExemptionCategory.objects.count() == 4
        assert ExchangeRate.objects.filter(currency="JPY").exists()


def test_pages_show_how_old_the_copy_is_in_the_missions_zone(seeded, mission_b):
    # given beta (Tokyo) received its version three hours ago
    with schema_context(mission_b.schema_name):
        received = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
        SyncLink.objects.filter(id=1).update(reference_received_at=received)
        version = SyncLink.objects.get(id=1).reference_version
        context = ref.reference_age_context(now=received + dt.timedelta(hours=3))
        # then the page names the version, the age and the time in Tokyo, zone named
        with translation.override("en"):
            page = render_to_string("sync/reference_age.html", context)
        assert f"Reference data v{version}, received 3\xa0hours ago" in page
        assert "3 December 2026, 18:00, Asia/Tokyo" in page
        with translation.override("tr"):
            context = ref.reference_age_context(now=received + dt.timedelta(hours=3))
            page = render_to_string("sync/reference_age.html", context)
        assert f"Referans verileri sürüm {version}, 3\xa0saat önce alındı" in page
        assert "3 Aralık 2026, 18:00, Asia/Tokyo" in page
    # and HQ's pages show nothing
    assert ref.reference_age_context() == {}
    assert render_to_string("sync/reference_age.html", {}).strip() == ""


def test_the_migration_copies_hqs_rows_into_a_missions_schema(seeded, mission_a):
    # given a fee HQ has and alpha's copy has not (never published)
    from django.db.migrations.executor import MigrationExecutor

    new_visa_fee_at_hq(9700)
    migration = "0004_mission_copy_of_reference_data"
    module = __import__(f"fees.reference.migrations.{migration}", fromlist=["copy_from_public"])
    apps = MigrationExecutor(connection).loader.project_state(("fees_reference", migration)).apps
    # when the migration's copy runs in alpha's schema (as at a deploy) and in public
    with schema_context(mission_a.schema_name), connection.schema_editor() as editor:
        module.copy_from_public(apps, editor)
    with connection.schema_editor() as editor:
        module.copy_from_public(apps, editor)

    # then alpha has every row HQ has (the ones it had are left as they were: the first
    # signed version brings them up to date), and public is unchanged
    def ids(schema: str) -> dict[str, set[int]]:
        tables = copy_of(schema)["fees"]
        return {label: {row["id"] for row in rows} for label, rows in tables.items()}

    assert visa_fee(mission_a.schema_name) == 9700
    assert ids(mission_a.schema_name) == ids("public")


def test_the_applications_role_publishes_and_applies(seeded, mission_a):
    # given the web process's and the worker's role, which owns nothing
    app_role_on_this_connection()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_has_role(current_user, 'pg_database_owner', 'USAGE'), usesuper"
            " FROM pg_user WHERE usename = current_user"
        )
        assert cursor.fetchone() == (False, False)
    # when HQ's data changes, is published and applied
    new_visa_fee_at_hq(9000)
    frame = publish()
    assert apply_in(mission_a.schema_name, frame)
    # then the mission reads the new fee
    assert visa_fee(mission_a.schema_name) == 9000
