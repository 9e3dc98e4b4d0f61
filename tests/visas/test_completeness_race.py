"""The completeness check sent from two tabs at the same instant, each request on its own
connection, both having read the case and checked the decisions before either takes the
application's lock: one records it (one event, one e-mail), the other leads to the case as it
stands with "This was recorded already", as a second click does."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core import mail
from django.db import connection, connections

from sync.models import OutboxEvent
from tests.conftest import host_client, make_staff, texts_of
from tests.missions.test_tenant_isolation import login_with_second_factor
from tests.passports.test_views import RECORDED
from tests.visas.factories import visa_submitted
from visas import locks
from visas.events import VisaTopic
from visas.models import FORM_ITEM, VisaApplication, VisaStatus
from visas.services import casework

pytestmark = pytest.mark.usefixtures("eager_tasks")


@pytest.mark.parametrize("language", ["en", "tr"])
def test_the_check_sent_from_two_tabs_at_once_is_recorded_once(
    throwaway_mission, monkeypatch, language
):
    # given a submitted application at a mission of its own (committed data), and its officer
    # with the case open in two tabs of one browser (one session, each tab's own messages)
    mission = throwaway_mission
    application = visa_submitted(mission)
    officer = make_staff(mission, "officer")
    connection.set_tenant(mission)
    codes = [item.code for item in casework.checklist_of(application)] + [FORM_ITEM]
    connection.set_schema_to_public()
    data = {f"item_{code}": "accept" for code in codes}
    tabs = [host_client(mission.host), host_client(mission.host)]
    login_with_second_factor(tabs[0], officer)
    tabs[1].cookies["sessionid"] = tabs[0].cookies["sessionid"].value
    # both requests read the case and check the decisions before either takes the lock
    barrier = threading.Barrier(2)
    real_lock = locks.application_lock

    def lock_together(*, pk: int) -> VisaApplication:
        barrier.wait(10)
        return real_lock(pk=pk)

    monkeypatch.setattr(locks, "application_lock", lock_together)
    case = f"/staff/visas/{application.reference}/"
    answers: dict[int, Any] = {}
    errors: list[BaseException] = []

    def send(tab: int) -> None:
        try:
            answers[tab] = tabs[tab].post(
                f"{case}completeness/", data, HTTP_ACCEPT_LANGUAGE=language
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    mail.outbox.clear()  # the submission's
    # when both tabs send the same check at the same instant
    threads = [threading.Thread(target=send, args=(tab,)) for tab in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monkeypatch.undo()
    # then both lead to the case as it stands: one says it is complete, the other that it was
    # recorded already, and neither shows a refusal
    assert not errors, errors
    assert [(answers[tab].status_code, answers[tab]["Location"]) for tab in (0, 1)] == [
        (302, case),
        (302, case),
    ]
    said = []
    for tab in tabs:
        page = tab.get(case, HTTP_ACCEPT_LANGUAGE=language).content
        assert not texts_of(page, "li", class_="message error")
        said += texts_of(page, "li", class_="message info")
        said += texts_of(page, "li", class_="message success")
    assert RECORDED[language] in said
    assert len(said) == 2
    # and it was recorded once: one event, one e-mail
    connection.set_tenant(mission)
    assert VisaApplication.objects.get(pk=application.pk).status == VisaStatus.COMPLETE
    events = OutboxEvent.objects.filter(
        aggregate_id=application.pk, topic=VisaTopic.APPLICATION_ADMISSIBLE
    )
    assert events.count() == 1
    connection.set_schema_to_public()
    assert [sent.to for sent in mail.outbox] == [[application.email]]
