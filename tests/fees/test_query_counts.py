"""The approvals page and the counter page cost a fixed number of queries, however many
waivers, refunds and assessments they list.

Data keys are taken as settled (as every key is in production, a few minutes after it is
made), so decrypting the payers' names costs no query once the first page warmed the cache.
"""

import pytest
from django_tenants.utils import schema_context

from tests.fees.conftest import assess, login, pay_cash
from tests.fees.factories import CreditNoteFactory, WaiverFactory

pytestmark = pytest.mark.usefixtures("fee_reference", "settled_keys")

# Each counts everything the request sends: the host's mission on public (the host cache is off
# in tests) and one `SET search_path` each for public and the mission, the user with their roles
# and second factor (one query), waivers with their assessments and the names of their
# exemption categories (in the reader's language), credit notes with their receipts. The
# counter adds the day's fees (rate, rounding, schedule) and the latest assessments; a case
# quoted at the counter, its fee lines with their assessments and their receipts.
APPROVALS_QUERIES = 7
COUNTER_QUERIES = 8


def _waiting(mission, cashier, officer, count: int) -> None:  # type: ignore[no-untyped-def]
    """`count` waivers and `count` refunds waiting for a second person."""
    with schema_context(mission.schema_name):
        for _ in range(count):
            WaiverFactory(assessment=assess(cashier), acting_user=officer)
            payment = pay_cash(assess(cashier), cashier)
            CreditNoteFactory(receipt=payment.receipt, acting_user=officer)


def test_the_approvals_page_costs_the_same_however_many_wait(
    client_a, mission_a, cashier_a, officer_a, consul_a, django_assert_num_queries
):
    # given one waiver and one refund waiting, and the consul's page once (warm caches)
    _waiting(mission_a, cashier_a, officer_a, 1)
    login(client_a, consul_a)
    client_a.get("/fees/approvals/")
    with django_assert_num_queries(APPROVALS_QUERIES):
        page = client_a.get("/fees/approvals/").content.decode()
    assert page.count("Approve waiver") == 1
    # when five more of each wait
    _waiting(mission_a, cashier_a, officer_a, 5)
    # then the page lists them all for the same number of queries
    with django_assert_num_queries(APPROVALS_QUERIES):
        page = client_a.get("/fees/approvals/").content.decode()
    assert page.count("Approve waiver") == 6
    assert page.count("Approve refund") == 6
    assert page.count("Ayşe Yılmaz") == 6  # the payers' names, decrypted


def test_the_counter_page_costs_the_same_however_many_were_assessed(
    client_b, mission_b, cashier_b, django_assert_num_queries
):
    # given one assessment in Tokyo (JPY: a rate and a rounding rule) and the page once
    with schema_context(mission_b.schema_name):
        assess(cashier_b)
    login(client_b, cashier_b)
    client_b.get("/fees/counter/")
    with django_assert_num_queries(COUNTER_QUERIES):
        client_b.get("/fees/counter/")
    # when twenty more are assessed
    with schema_context(mission_b.schema_name):
        for _ in range(20):
            assess(cashier_b, services=["visa", "express"])
    # then the page (fees of the day, the fifteen latest) costs the same
    with django_assert_num_queries(COUNTER_QUERIES):
        page = client_b.get("/fees/counter/").content.decode()
    assert page.count("/fees/assessments/") == 15
    assert "¥16,400" in page


def test_a_quoted_case_costs_two_queries_however_many_fees_it_was_charged(
    client_b, mission_b, cashier_b, django_assert_num_queries
):
    # given a case with one fee paid, and the page once
    with schema_context(mission_b.schema_name):
        pay_cash(assess(cashier_b, subject_type="case", subject_ref="P8RS6EN8AN"), cashier_b)
    login(client_b, cashier_b)
    quoted = {"reference": "P8RS6EN8AN"}
    client_b.get("/fees/counter/", quoted)
    with django_assert_num_queries(COUNTER_QUERIES + 2):
        client_b.get("/fees/counter/", quoted)
    # when three more fees of the case are charged on assessments of their own, two paid
    with schema_context(mission_b.schema_name):
        for n, service in enumerate(["notarial_act", "visa", "id_card"]):
            more = assess(cashier_b, [service], subject_type="case", subject_ref="P8RS6EN8AN")
            if n < 2:
                pay_cash(more, cashier_b)
    # then the page lists them all, with their receipts, for the same number of queries
    with django_assert_num_queries(COUNTER_QUERIES + 2):
        page = client_b.get("/fees/counter/", quoted).content.decode()
    assert page.count(": paid, receipt ") == 3
    assert page.count("not paid yet") == 1
