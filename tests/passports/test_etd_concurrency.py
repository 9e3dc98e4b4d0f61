"""Consuls issuing at the same moment, each on their own connection: every committed ETD gets
its own number, consecutive from the block's first, and one that rolls back gives its number
back (no gap). HQ allocating the same numbers twice at the same moment: one allocation only."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, connections, transaction

from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from passports import numbers, services
from passports.models import EmergencyTravelDocument, EtdNumberBlock, EtdStatus
from passports.register import services as register_services
from passports.register.models import NumberBlock
from tests.conftest import make_staff
from tests.passports.test_etd_services import etd_paid, signer_install

CONSULS = 6


class Rollback(Exception):
    pass


def test_consuls_issuing_at_once_take_consecutive_numbers(throwaway_mission, monkeypatch):
    # given a mission with a block, paid requests, and as many consuls
    signer_install(monkeypatch)
    mission = throwaway_mission
    services.etd_block_allocate(
        mission_code=mission.code, first=7001, last=7100, prefix="C", acting_user=SYSTEM
    )
    consuls = [make_staff(mission, "consul") for _ in range(CONSULS)]
    connection.set_tenant(mission)
    documents = [etd_paid(mission) for _ in range(CONSULS + 1)]
    connection.set_schema_to_public()
    barrier = threading.Barrier(CONSULS)
    errors: list[BaseException] = []

    def issue(n: int, *, roll_back: bool = False) -> None:
        try:
            connection.set_tenant(mission)
            barrier.wait()
            with transaction.atomic():
                services.etd_issue(etd=documents[n], acting_user=consuls[n])
                if roll_back:
                    raise Rollback
        except Rollback:
            pass
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    # when they all issue at once, one of them rolling back after its number was taken
    threads = [
        threading.Thread(target=issue, args=(n,), kwargs={"roll_back": n == 0})
        for n in range(CONSULS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then the committed ones hold 7001.. without a gap, each number once
    assert not errors
    connection.set_tenant(mission)
    numbers = sorted(
        EmergencyTravelDocument.objects.filter(status=EtdStatus.ISSUED).values_list(
            "number", flat=True
        )
    )
    assert numbers == [f"C{n:08d}" for n in range(7001, 7001 + CONSULS - 1)]
    assert EtdNumberBlock.objects.get().next_number == 7001 + CONSULS - 1
    # and the one rolled back is still a request, issued next with the next number
    documents[0].refresh_from_db()
    assert documents[0].status == EtdStatus.REQUESTED
    issued = services.etd_issue(etd=documents[0], acting_user=consuls[1])
    assert issued.number == f"C{7001 + CONSULS - 1:08d}"
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _fees(committed_db):  # type: ignore[no-untyped-def]
    from tests.fees.factories import seed_fee_reference

    seed_fee_reference()


def test_passport_and_etd_numbers_allocated_at_once_are_allocated_once(
    throwaway_mission, monkeypatch
):
    # given HQ's passport numbers and a mission's ETD numbers asked for at the same moment, over
    # the same numbers, each on its own connection, and each allocation waiting a moment after
    # finding the numbers free (so that without one lock for both, both would find them free)
    mission = throwaway_mission
    found = numbers._numbers_taken

    def found_then_wait(**range_: Any) -> Any:
        taken = found(**range_)
        time.sleep(0.3)
        return taken

    monkeypatch.setattr(numbers, "_numbers_taken", found_then_wait)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def allocate(kind: str) -> None:
        try:
            connection.set_schema_to_public()
            barrier.wait()
            if kind == "passport":
                register_services.number_block_add(
                    document_type="P", prefix="Q", digits=8, first=8001, last=8100,
                    acting_user=SYSTEM,
                )  # fmt: skip
            else:
                services.etd_block_allocate(
                    mission_code=mission.code, first=8050, last=8150, prefix="Q",
                    acting_user=SYSTEM,
                )  # fmt: skip
            outcomes.append(kind)
        except ApplicationError as refused:
            outcomes.append(refused.code.value)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=allocate, args=(kind,)) for kind in ("passport", "etd")]
    try:
        # when both run
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # then one of them has the numbers and the other is refused for the overlap
        assert not errors
        assert sorted(outcomes) in (
            ["passport", "passports.etd_block_overlap"],
            ["etd", "passports.block_overlap"],
        )
        passport_blocks = NumberBlock.objects.filter(prefix="Q", first=8001).count()
        connection.set_tenant(mission)
        assert passport_blocks + EtdNumberBlock.objects.count() == 1
    finally:
        connection.set_schema_to_public()
        NumberBlock.objects.filter(prefix="Q", first=8001).delete()
        NumberBlock.history.filter(prefix="Q", first=8001).delete()  # type: ignore[attr-defined]
