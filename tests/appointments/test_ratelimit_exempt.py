"""`APPOINTMENTS_RATE_LIMIT_EXEMPT_ADDRESSES` lifts the per-address budget for the addresses it
names and nothing else: their accounts keep their own budget, every other address keeps its
budget, and without the setting no address is exempt. Requests go through the real API."""

import pytest

from tests.conftest import MODEL_BACKEND
from tests.factories import UserFactory

BOOKINGS = "/api/v1/appointments/bookings/"
SLOTS = "/api/v1/appointments/services/passport/slots/"


@pytest.fixture
def tight_limits(settings):  # type: ignore[no-untyped-def]
    settings.APPOINTMENTS_RATE_LIMITS = {"book": (2, 60), "read": (2, 60)}
    return settings


def _book_statuses(client, user, address: str, times: int) -> list[int]:  # type: ignore[no-untyped-def]
    """POST an empty booking `times` times as `user` from `address`: 400 (the body is refused
    after the budget is counted) or 429 (over budget)."""
    client.force_login(user, backend=MODEL_BACKEND)
    return [
        client.post(BOOKINGS, {}, content_type="application/json", REMOTE_ADDR=address).status_code
        for _ in range(times)
    ]


def test_an_exempt_address_still_gets_the_per_account_limit(catalogue, client_a, tight_limits):
    # given loopback is exempt from the per-address budget
    tight_limits.APPOINTMENTS_RATE_LIMIT_EXEMPT_ADDRESSES = ["127.0.0.1", "::1"]
    first, second = UserFactory(), UserFactory()
    # when one account spends more than its budget, then a second account goes on
    hammering = _book_statuses(client_a, first, "127.0.0.1", 3)
    other = _book_statuses(client_a, second, "127.0.0.1", 2)
    # then the first account is refused at its third request; the address never runs dry
    assert hammering == [400, 400, 429]
    assert other == [400, 400]


def test_an_address_not_exempt_is_still_limited_per_address(catalogue, client_a, tight_limits):
    # given only loopback is exempt
    tight_limits.APPOINTMENTS_RATE_LIMIT_EXEMPT_ADDRESSES = ["127.0.0.1"]
    first, second = UserFactory(), UserFactory()
    # when two accounts share another address; anonymous reads come from it too
    statuses = _book_statuses(client_a, first, "203.0.113.7", 2)
    statuses += _book_statuses(client_a, second, "203.0.113.7", 1)
    client_a.logout()
    reads = [client_a.get(SLOTS, REMOTE_ADDR="203.0.113.7").status_code for _ in range(3)]
    # then the second account is refused: the address's budget of two is spent
    assert statuses == [400, 400, 429]
    assert reads == [200, 200, 429]


def test_default_settings_exempt_no_address(catalogue, client_a, tight_limits):
    # given the setting is absent, as in every settings module but the benchmark's
    assert not hasattr(tight_limits, "APPOINTMENTS_RATE_LIMIT_EXEMPT_ADDRESSES")
    # when anonymous reads and two accounts come from loopback
    reads = [client_a.get(SLOTS, REMOTE_ADDR="127.0.0.1").status_code for _ in range(3)]
    first, second = UserFactory(), UserFactory()
    books = _book_statuses(client_a, first, "127.0.0.1", 2)
    books += _book_statuses(client_a, second, "127.0.0.1", 1)
    # then loopback is limited per address like any other
    assert reads == [200, 200, 429]
    assert books == [400, 400, 429]
