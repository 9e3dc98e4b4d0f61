"""Expiry of unanswered card checkouts: the per-mission task and the beat task's fan-out."""

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection

from fees import tasks
from fees.models import Payment
from fees.money import Money
from fees.selectors import assessment_balance
from missions.models import Mission, MissionStatus
from tests.fees.conftest import assess
from tests.fees.test_webhooks import start_card

pytestmark = pytest.mark.usefixtures("fee_reference")


def test_the_task_expires_stale_checkouts_and_leaves_fresh_ones(in_mission_b, cashier_b):
    # given one checkout unanswered for an hour and one just started
    stale, _ = start_card(assess(cashier_b))
    fresh, _ = start_card(assess(cashier_b))
    Payment.objects.filter(pk=stale.pk).update(
        created_at=dt.datetime.now(tz=dt.UTC) - dt.timedelta(hours=1)
    )
    # when the mission's expiry task runs
    expired = tasks.expire_stale_card_payments()
    # then only the stale one expired, and its amount is due again
    assert expired == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, fresh.status) == ("expired", "pending")
    assert assessment_balance(assessment=stale.assessment).outstanding == Money(16400, "JPY")
    # and a second run finds nothing more
    assert tasks.expire_stale_card_payments() == 0


def test_the_beat_task_queues_one_expiry_per_active_mission(monkeypatch, mission_a, mission_b):
    # given alpha is active and beta suspended
    Mission.objects.filter(pk=mission_b.pk).update(status=MissionStatus.SUSPENDED)
    queued_in: list[str] = []
    monkeypatch.setattr(
        tasks.expire_stale_card_payments,
        "delay",
        lambda: queued_in.append(connection.schema_name),
    )
    # when the beat task runs in public
    tasks.every_mission_expire_stale_card_payments()
    # then it queued the expiry in alpha's schema only (tenant-schemas-celery records it)
    assert queued_in == [mission_a.schema_name]
    assert connection.schema_name == "public"


def test_beat_runs_the_fan_out():
    entry = settings.CELERY_BEAT_SCHEDULE["fees-expire-stale-card-payments"]
    assert entry["task"] == tasks.every_mission_expire_stale_card_payments.name
