"""A passport reported stolen at the counter at the very moment its renewal is submitted, each
on its own connection: the two follow each other on the number's lock, so the report is never
taken while the renewal is between its check and its commit (which would renew a reported
passport)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections
from django.utils import timezone

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from passports import services
from passports.models import Application, ApplicationStatus, DocumentReport
from passports.services import application as application_module
from tests.fees.factories import seed_fee_reference
from tests.passports.factories import application_draft

NUMBER = "U77788899"


def test_a_report_waits_for_a_renewal_that_is_checking_the_same_passport(
    throwaway_mission, monkeypatch
):
    # given a complete renewal of a passport, at a mission of its own (committed data)
    mission = throwaway_mission
    seed_fee_reference()
    connection.set_tenant(mission)
    application = application_draft(previous_document=NUMBER)
    citizen = User.objects.get(pk=application.user_id)
    connection.set_schema_to_public()
    checked = threading.Event()
    real_check = application_module.document_reported

    def slow_check(**kwargs):  # type: ignore[no-untyped-def]
        # the renewal has looked the number up and holds on before it commits
        found = real_check(**kwargs)
        checked.set()
        time.sleep(0.8)
        return found

    monkeypatch.setattr(application_module, "document_reported", slow_check)
    committed_at: list = []
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            connection.set_tenant(mission)
            services.application_submit(application=application, acting_user=citizen)
            committed_at.append(timezone.now())
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    def report() -> None:
        try:
            connection.set_tenant(mission)
            checked.wait(10)
            services.document_report_take(
                kind="stolen", document_number=NUMBER, circumstances="", acting_user=SYSTEM
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    # when the counter reports it while the renewal is between its check and its commit
    threads = [threading.Thread(target=submit), threading.Thread(target=report)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then the report was taken only after the renewal committed: they followed each other
    assert not errors, errors
    connection.set_tenant(mission)
    report_row = DocumentReport.objects.get()
    assert Application.objects.get(pk=application.pk).status == ApplicationStatus.SUBMITTED
    assert report_row.created_at >= committed_at[0] - timezone.timedelta(milliseconds=50)
    # and a renewal submitted after the report is refused (the other order)
    second = application_draft(previous_document=NUMBER)
    with pytest.raises(ApplicationError) as refused:
        services.application_submit(
            application=second, acting_user=User.objects.get(pk=second.user_id)
        )
    assert refused.value.code.value == "passports.document_reported"
    connection.set_schema_to_public()
