"""HQ's reference data: versioned fee schedule, reciprocity fees, rates from CSV."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from fees.money import Money
from fees.reference.models import ExchangeRate, FeeScheduleEntry
from fees.reference.selectors import exchange_rate_in_force, fee_schedule_entry_in_force
from fees.reference.services import fee_schedule_entry_publish
from fees.selectors import fee_quote

pytestmark = pytest.mark.usefixtures("fee_reference")


def test_a_new_fee_is_a_new_version_and_the_old_one_is_kept(db):
    # given the 80.00 EUR visa fee from 1 January
    old = FeeScheduleEntry.objects.get(service="visa", nationality="", visa_category="")
    # when HQ publishes 90.00 from 1 December
    new = fee_schedule_entry_publish(
        service="visa",
        amount=Money(9000, "EUR"),
        valid_from=dt.date(2026, 12, 1),
        acting_user=SYSTEM,
    )
    # then both versions exist, each in force on its own days
    old.refresh_from_db()
    assert (old.version, old.valid_to, new.version) == (1, dt.date(2026, 12, 1), 2)
    on = fee_schedule_entry_in_force
    assert on(service="visa", on=dt.date(2026, 11, 30)).amount_minor == 8000
    assert on(service="visa", on=dt.date(2026, 12, 1)).amount_minor == 9000
    # and the database refuses to overwrite or delete a version
    for sql in (
        "UPDATE fees_reference_feescheduleentry SET amount_minor = 1",
        "DELETE FROM fees_reference_feescheduleentry",
    ):
        with pytest.raises(DatabaseError, match="fee schedule"), transaction.atomic():
            connection.cursor().execute(sql)


def test_reciprocity_sets_another_fee_for_one_nationality(db):
    fee_schedule_entry_publish(
        service="visa",
        amount=Money(2500, "EUR"),
        valid_from=dt.date(2026, 6, 1),
        nationality="US",
        visa_category="tourist",
        acting_user=SYSTEM,
    )
    today = dt.date(2026, 11, 22)
    assert fee_schedule_entry_in_force(service="visa", on=today).amount_minor == 8000
    specific = fee_schedule_entry_in_force(
        service="visa", on=today, nationality="US", visa_category="tourist"
    )
    assert specific.amount_minor == 2500


def test_fees_are_set_in_the_base_currency_only(db):
    with pytest.raises(ApplicationError):
        fee_schedule_entry_publish(
            service="visa",
            amount=Money(9000, "USD"),
            valid_from=dt.date(2027, 1, 1),
            acting_user=SYSTEM,
        )


def test_rates_import_from_csv_and_the_command_says_what_it_did(db, tmp_path, capsys):
    path = tmp_path / "rates.csv"
    path.write_text(
        "currency,rate,effective_date\nKWD,0.3600,2026-11-20\nJPY,172.35,2026-01-01\n"
        "usd,1.09,2026-11-20\n"
    )
    call_command("import_exchange_rates", str(path))
    out = capsys.readouterr().out
    assert "2 rate(s) created, 0 corrected, 1 unchanged" in out
    assert exchange_rate_in_force(currency="KWD", on=dt.date(2026, 11, 21)).rate == Decimal("0.36")
    assert exchange_rate_in_force(currency="KWD", on=dt.date(2026, 11, 19)).rate == Decimal(
        "0.3571"
    )


def test_a_bad_rates_file_imports_nothing(db, tmp_path, capsys):
    path = tmp_path / "rates.csv"
    path.write_text("currency,rate,effective_date\nKWD,0.36,2026-11-20\nXXX,-1,2026-11-20\n")
    before = ExchangeRate.objects.count()
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import_exchange_rates", str(path))
    assert ExchangeRate.objects.count() == before


def test_the_rate_in_force_on_the_day_of_assessment_is_used(in_mission_b):
    line = fee_quote(service="passport_application")
    assert (line.rate, line.rate_date) == (Decimal("172.35"), dt.date(2026, 1, 1))


def test_hq_admin_publishes_a_new_version_and_explains_a_bad_one(client_hq, db):
    from consulate.kernel.accounts.models import User
    from tests.fees.conftest import login

    admin_user = User.objects.create_superuser(email="root.fees@example.org", password="x")
    login(client_hq, admin_user)
    add = "/admin/fees_reference/feescheduleentry/add/"
    assert client_hq.get("/admin/fees_reference/feescheduleentry/").status_code == 200
    bad = client_hq.post(
        add,
        {"service": "visa", "amount_minor": "9000", "currency": "EUR", "valid_from": "2025-12-01"},
    )
    assert "A new version must start after 2026-01-01" in bad.content.decode()
    good = client_hq.post(
        add,
        {"service": "visa", "amount_minor": "9000", "currency": "EUR", "valid_from": "2027-01-01"},
    )
    assert good.status_code == 302
    assert FeeScheduleEntry.objects.filter(service="visa", nationality="").count() == 2


def test_the_demo_seed_is_idempotent(db):
    import io

    from fees.demo import seed_demo, seed_reference

    # the fixture already seeded once; a second run creates nothing and says nothing
    assert set(seed_reference().values()) == {0}
    out = io.StringIO()
    seed_demo(stdout=out)
    assert out.getvalue() == ""
    assert FeeScheduleEntry.objects.count() == 8
    assert set(ExchangeRate.objects.values_list("currency", flat=True)) == {
        "JPY",
        "KWD",
        "USD",
        "GBP",
        "AUD",
    }
