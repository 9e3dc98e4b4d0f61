"""Accounts as HQ admins manage them: through the services, with history by who did it."""

import pytest

from consulate.kernel.errors import ApplicationError
from missions.error_codes import MissionError
from missions.services import account_create, account_password_set, account_update
from tests.factories import UserFactory


@pytest.fixture
def hq_admin(db):
    return UserFactory(hq_role="admin")


def test_an_hq_admin_opens_an_account_recorded_as_theirs(hq_admin):
    # when an HQ admin opens an account, with names
    person = account_create(
        email=" Ada.Example@Example.org ", password="correct horse battery",
        acting_user=hq_admin, first_name="Ada", last_name="Example",
    )  # fmt: skip
    # then the e-mail is normalised, the password works, and history says who opened it
    person.refresh_from_db()
    assert (person.email, person.first_name, person.last_name) == (
        "ada.example@example.org", "Ada", "Example",
    )  # fmt: skip
    assert person.check_password("correct horse battery")
    assert person.history.get().history_user_id == hq_admin.pk


def test_an_e_mail_in_use_is_refused_whatever_its_case(hq_admin):
    UserFactory(email="taken@example.org")
    with pytest.raises(ApplicationError) as refused:
        account_create(email="TAKEN@example.org", password=None, acting_user=hq_admin)
    assert (refused.value.code, refused.value.field) == (MissionError.EMAIL_TAKEN, "email")
    other = UserFactory()
    with pytest.raises(ApplicationError):
        account_update(user=other, acting_user=hq_admin, email="Taken@example.org")


def test_changing_an_account_writes_history_only_when_something_changes(hq_admin):
    # given an account
    person = UserFactory(first_name="Ada")
    # when an HQ admin gives it the analyst role, then saves the same again
    account_update(user=person, acting_user=hq_admin, hq_role="analyst", first_name="Ada")
    account_update(user=person, acting_user=hq_admin, hq_role="analyst")
    # then one history row records the change, by the admin
    assert person.history.count() == 2
    latest = person.history.latest()
    assert (latest.hq_role, latest.history_user_id) == ("analyst", hq_admin.pk)


@pytest.mark.parametrize("field", ["password", "date_joined", "pk"])
def test_what_has_its_own_way_cannot_be_changed_here(hq_admin, field):
    with pytest.raises(ApplicationError) as refused:
        account_update(user=UserFactory(), acting_user=hq_admin, **{field: "x"})
    assert refused.value.code == MissionError.INVALID


def test_setting_no_password_makes_it_unusable(hq_admin):
    person = UserFactory()
    account_password_set(user=person, password=None, acting_user=hq_admin)
    person.refresh_from_db()
    assert not person.has_usable_password()
