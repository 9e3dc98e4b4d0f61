"""The `missions.accounts` down set: a node's copy of its mission and staff follows HQ's."""

from allauth.mfa.models import Authenticator
from django.db import connection

from consulate.kernel.accounts.models import User
from missions.models import Membership, Mission
from missions.services.down import accounts_apply, accounts_build
from sync.registry import down_sets
from tests.conftest import make_staff


def test_the_set_is_registered_with_sync():
    assert "missions.accounts" in {down_set.name for down_set in down_sets()}


def test_the_set_holds_the_missions_staff_and_hq_staff_but_not_citizens(
    mission_a, officer_a, officer_b, hq_analyst, citizen
):
    Authenticator.objects.create(user=officer_a, type="totp", data={"secret": "ABC"})
    content = accounts_build("alpha")
    emails = {account["email"] for account in content["accounts"]}
    assert officer_a.email in emails
    assert hq_analyst.email in emails  # HQ roles count at every mission
    assert officer_b.email not in emails  # another mission's officer
    assert citizen.email not in emails
    mine = next(a for a in content["accounts"] if a["email"] == officer_a.email)
    assert mine["roles"] == [["officer", True]]
    assert mine["factors"] == [["totp", {"secret": "ABC"}]]
    assert mine["password"] == officer_a.password
    assert content["mission"]["timezone"] == mission_a.timezone


def test_applying_restores_a_copy_that_drifted(mission_a, officer_a):
    officer_a.first_name = "Zeynep"
    officer_a.save()
    Authenticator.objects.create(user=officer_a, type="totp", data={"secret": "HQ"})
    content = accounts_build("alpha")
    # the node's copy drifted: a role lost, a factor changed, a name changed, a new mission name
    Membership.objects.filter(user=officer_a).update(is_active=False)
    Authenticator.objects.filter(user=officer_a).update(data={"secret": "NODE"})
    User.objects.filter(pk=officer_a.pk).update(password="x")
    Mission.objects.filter(pk=mission_a.pk).update(city_en="Elsewhere", city_tr="Başka yer")
    # (HQ's own row names the city in Turkish too: the set carries it as it carries the name)
    content["mission"]["city_tr"] = "Berlin (TR)"

    accounts_apply("alpha", content)

    officer = User.objects.get(pk=officer_a.pk)
    assert officer.password == officer_a.password
    assert officer.first_name == "Zeynep"
    assert Membership.objects.get(user=officer, mission=mission_a).is_active
    assert list(Authenticator.objects.filter(user=officer).values_list("data", flat=True)) == [
        {"secret": "HQ"}
    ]
    node = Mission.objects.get(pk=mission_a.pk)
    assert (node.city_en, node.city_tr) == (mission_a.city_en, "Berlin (TR)")
    # the original column holds the English value, as the name's does
    with connection.cursor() as cursor:
        cursor.execute("SELECT city FROM missions_mission WHERE id = %s", [mission_a.pk])
        assert cursor.fetchone() == (mission_a.city_en,)


def test_a_role_hq_no_longer_lists_is_revoked_and_a_new_person_arrives(mission_a, officer_a):
    content = accounts_build("alpha")
    # at HQ the officer's role was revoked and a consul appointed
    content["accounts"] = [a for a in content["accounts"] if a["email"] != officer_a.email]
    consul = make_staff(mission_a, "consul", email="new-consul@alpha.test")
    newcomer = next(a for a in accounts_build("alpha")["accounts"] if a["id"] == consul.pk)
    consul_membership = Membership.objects.get(user=consul)
    consul_membership.delete()
    User.objects.filter(pk=consul.pk).delete()  # the node has never seen them
    content["accounts"].append(newcomer)

    accounts_apply("alpha", content)

    assert not Membership.objects.get(user=officer_a, mission=mission_a).is_active
    arrived = User.objects.get(pk=consul.pk)
    assert arrived.email == "new-consul@alpha.test"
    assert Membership.objects.get(user=arrived, mission=mission_a).role == "consul"


def test_applying_the_same_set_twice_changes_nothing(mission_a, officer_a):
    content = accounts_build("alpha")
    accounts_apply("alpha", content)
    history = officer_a.history.count()
    memberships = Membership.history.count()
    accounts_apply("alpha", content)
    assert officer_a.history.count() == history
    assert Membership.history.count() == memberships


def test_hq_role_accounts_travel_without_password_or_second_factor(
    mission_a, officer_a, hq_analyst
):
    # given an HQ analyst with a password and a second factor at HQ
    Authenticator.objects.create(user=hq_analyst, type="totp", data={"secret": "HQSEED"})
    content = accounts_build("alpha")
    analyst = next(a for a in content["accounts"] if a["id"] == hq_analyst.pk)
    # then the set names them with their role and addresses, but holds neither secret
    assert analyst["hq_role"] == hq_analyst.hq_role
    assert analyst["password"] == "!"
    assert analyst["factors"] == []
    assert "HQSEED" not in str(content)
    assert hq_analyst.password not in str(content)
    # and at a node they cannot log in with a password (they log in at HQ)
    accounts_apply("alpha", content)
    node_copy = User.objects.get(pk=hq_analyst.pk)
    assert not node_copy.has_usable_password()
    assert not Authenticator.objects.filter(user=node_copy).exists()
    # while the mission's own staff keep theirs
    officer = next(a for a in content["accounts"] if a["id"] == officer_a.pk)
    assert officer["password"] == officer_a.password


def test_an_account_whose_address_the_node_gave_away_is_skipped_and_the_rest_applied(
    mission_a, officer_a, caplog
):
    # given at HQ a new consul, and officer A's role revoked
    consul = make_staff(mission_a, "consul", email="taken@alpha.test")
    content = accounts_build("alpha")
    newcomer = next(a for a in content["accounts"] if a["id"] == consul.pk)
    for account in content["accounts"]:
        if account["id"] == officer_a.pk:
            account["roles"] = [[role, False] for role, _ in account["roles"]]
    # and at the node the consul is unknown and their e-mail address is a node-local account's
    Membership.objects.filter(user=consul).delete()
    User.objects.filter(pk=consul.pk).delete()
    User.objects.create(pk=1_000_000_001, email="taken@alpha.test")
    # when the set is applied, then it does not fail as a whole
    accounts_apply("alpha", content)
    # the conflicting account is skipped and said so; the node-local account is untouched
    assert not User.objects.filter(pk=newcomer["id"]).exists()
    assert User.objects.get(email="taken@alpha.test").pk == 1_000_000_001
    assert "not applied" in caplog.text
    # and the revocation in the same set arrived
    assert not Membership.objects.get(user=officer_a, mission=mission_a).is_active


def test_a_conflicting_account_hq_revoked_loses_its_role_at_the_node(mission_a, officer_a):
    # given officer A, known at the node, whose address HQ changed to one a node account holds
    content = accounts_build("alpha")
    User.objects.create(pk=1_000_000_002, email="mine@node.test")
    for account in content["accounts"]:
        if account["id"] == officer_a.pk:
            account["email"] = "mine@node.test"
            account["roles"] = [[role, False] for role, _ in account["roles"]]
    # when applied, then the account is not changed but its revoked role is revoked
    accounts_apply("alpha", content)
    assert User.objects.get(pk=officer_a.pk).email == officer_a.email
    assert not Membership.objects.get(user=officer_a, mission=mission_a).is_active
