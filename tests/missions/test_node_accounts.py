"""At a mission node, accounts that came from HQ are changed at HQ, never at the node."""

import pytest

from consulate.kernel.accounts.models import User
from missions.services.node import NODE_ACCOUNT_IDS_FROM
from tests.conftest import MODEL_BACKEND, host_client, text_of

CHANGE = "/accounts/password/change/"
FORM = {
    "oldpassword": "pw-old-2026!",
    "password1": "a-New-pass-2026!",
    "password2": "a-New-pass-2026!",
}


def _client(mission, user):
    client = host_client(mission.host)
    client.force_login(user, backend=MODEL_BACKEND)
    return client


@pytest.fixture
def hq_account(db):
    return User.objects.create_user(email="from-hq@example.org", password="pw-old-2026!")


@pytest.fixture
def node_account(db):
    return User.objects.create_user(
        id=NODE_ACCOUNT_IDS_FROM + 5, email="signed-up-here@example.org", password="pw-old-2026!"
    )


def test_at_a_node_an_hq_account_is_changed_at_hq(mission_a, hq_account, settings):
    settings.SYNC_HQ_URL = "https://hq.example"
    answer = _client(mission_a, hq_account).post(CHANGE, FORM)
    assert answer.status_code == 403
    assert text_of(answer.content, "h1") == "Change it at HQ"
    assert "https://hq.example/accounts/password/change/" in answer.content.decode()
    hq_account.refresh_from_db()
    assert hq_account.check_password("pw-old-2026!")  # unchanged


def test_in_turkish_too(mission_a, hq_account, settings):
    settings.SYNC_HQ_URL = "https://hq.example"
    answer = _client(mission_a, hq_account).post(CHANGE, FORM, HTTP_ACCEPT_LANGUAGE="tr")
    assert answer.status_code == 403
    assert text_of(answer.content, "h1") == "Merkezde (HQ) değiştirin"


def test_an_account_made_at_the_node_is_the_nodes_own(mission_a, node_account, settings):
    settings.SYNC_HQ_URL = "https://hq.example"
    answer = _client(mission_a, node_account).post(CHANGE, FORM)
    assert answer.status_code in (200, 302)
    node_account.refresh_from_db()
    assert node_account.check_password("a-New-pass-2026!")


def test_in_hqs_own_database_nothing_is_refused(mission_a, hq_account, settings):
    settings.SYNC_HQ_URL = ""
    answer = _client(mission_a, hq_account).post(CHANGE, FORM)
    assert answer.status_code in (200, 302)
    hq_account.refresh_from_db()
    assert hq_account.check_password("a-New-pass-2026!")


def test_a_reset_link_for_an_hq_account_is_refused_at_the_node(mission_a, hq_account, settings):
    from django.utils.http import int_to_base36

    settings.SYNC_HQ_URL = "https://hq.example"
    path = f"/accounts/password/reset/key/{int_to_base36(hq_account.pk)}-set-password/"
    answer = host_client(mission_a.host).post(path, {"password1": "x", "password2": "x"})
    assert answer.status_code == 403
