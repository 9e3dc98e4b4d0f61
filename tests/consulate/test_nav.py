"""The site's navigation shows each staff page to the roles that may use it."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP

from tests.conftest import MODEL_BACKEND, make_staff


def nav_of(client, user) -> str:
    if user.needs_second_factor():
        TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    client.force_login(user, backend=MODEL_BACKEND)
    page = client.get("/").content.decode()
    return page[page.index("<nav") : page.index("</nav>")]


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        ("cashier", ["Counter", "Bank transfers", "Day close"], ["Day sheet", "Approvals"]),
        ("officer", ["Day sheet", "Counter"], ["Bank transfers", "Day close", "Approvals"]),
        ("consul", ["Day sheet", "Approvals", "Day close"], []),
    ],
)
def test_staff_see_the_pages_of_their_role(client_a, mission_a, role, shown, hidden):
    nav = nav_of(client_a, make_staff(mission_a, role))
    for label in shown:
        assert label in nav
    for label in hidden:
        assert label not in nav


def test_citizens_see_no_staff_pages(client_a, citizen):
    nav = nav_of(client_a, citizen)
    assert "Appointments" in nav
    for label in ("Staff", "Day sheet", "Counter", "Revenue"):
        assert f">{label}<" not in nav
