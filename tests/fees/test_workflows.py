"""Each fees workflow has one TRANSITIONS table naming every state; services change a state only
through `move_to`, which refuses what the table does not allow."""

import pytest

from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.workflows import transitions_check
from fees.models import (
    APPROVAL_TRANSITIONS,
    ASSESSMENT_TRANSITIONS,
    PAYMENT_TRANSITIONS,
    ApprovalStatus,
    Assessment,
    AssessmentStatus,
    CreditNote,
    Payment,
    PaymentStatus,
    Waiver,
)


@pytest.mark.parametrize(
    ("table", "states"),
    [
        (ASSESSMENT_TRANSITIONS, AssessmentStatus),
        (APPROVAL_TRANSITIONS, ApprovalStatus),
        (PAYMENT_TRANSITIONS, PaymentStatus),
    ],
    ids=["assessment", "approval", "payment"],
)
def test_the_table_names_every_state(table, states):
    transitions_check(table, states)


def test_each_model_reads_its_one_table():
    assert Assessment.TRANSITIONS is ASSESSMENT_TRANSITIONS
    assert Waiver.TRANSITIONS is APPROVAL_TRANSITIONS
    assert CreditNote.TRANSITIONS is APPROVAL_TRANSITIONS
    assert Payment.TRANSITIONS is PAYMENT_TRANSITIONS


@pytest.mark.parametrize(
    ("model", "start", "target"),
    [
        (Assessment, AssessmentStatus.CANCELLED, AssessmentStatus.OPEN),
        (Assessment, AssessmentStatus.SETTLED, AssessmentStatus.CANCELLED),
        (Waiver, ApprovalStatus.REJECTED, ApprovalStatus.APPROVED),
        (CreditNote, ApprovalStatus.APPROVED, ApprovalStatus.REJECTED),
        (Payment, PaymentStatus.SUCCEEDED, PaymentStatus.DECLINED),
        (Payment, PaymentStatus.EXPIRED, PaymentStatus.PENDING),
    ],
)
def test_move_to_refuses_what_the_table_does_not_allow(model, start, target):
    instance = model(status=start)
    with pytest.raises(ApplicationError) as refused:
        instance.move_to(target)
    assert refused.value.code == CommonError.BAD_TRANSITION
    assert instance.status == start


def test_the_predicates_read_the_table():
    assert Assessment(status=AssessmentStatus.OPEN).can_cancel()
    assert not Assessment(status=AssessmentStatus.SETTLED).can_cancel()
    assert Waiver(status=ApprovalStatus.REQUESTED).can_decide()
    assert not CreditNote(status=ApprovalStatus.REJECTED).can_decide()
    # a success after a decline or a timeout is recorded: the money moved
    assert Payment(status=PaymentStatus.DECLINED).can_succeed()
    assert Payment(status=PaymentStatus.EXPIRED).can_succeed()
    assert not Payment(status=PaymentStatus.SUCCEEDED).can_expire()
