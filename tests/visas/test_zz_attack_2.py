"""Attack batch 2: authorization, four eyes, workflow."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import HqRole, User
from consulate.kernel.errors import ApplicationError
from tests.conftest import host_client, make_staff
from tests.factories import MembershipFactory, UserFactory
from tests.missions.test_tenant_isolation import login_with_second_factor
from tests.visas.factories import visa_draft, visa_submitted
from tests.visas.factories_casework import (
    numbers_allocate, visa_appealed, visa_attended, visa_complete, visa_issued, visa_paid,
    visa_recommended, visa_refused, visa_screened,
)
from visas.models import Upload, VisaApplication, VisaStatus
from visas.services import casework

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

STAFF_GETS = ["", "files/1/", "evisa.pdf"]
STAFF_POSTS = ["completeness/", "attend/", "screen/", "matches/1/", "recommend/", "decide/",
               "extend/", "appeal/", "appeal/decide/", "end/"]


def test_other_mission_officer_and_citizen_get_404(client_a, mission_a, mission_b, citizen):
    app_a = visa_issued(mission_a)
    for user in (make_staff(mission_b, "consul"), citizen):
        c = host_client(mission_a.host)
        login_with_second_factor(c, user)
        for suffix in STAFF_GETS:
            r = c.get(f"/staff/visas/{app_a.reference}/{suffix}")
            assert r.status_code == 404, (user, suffix, r.status_code)
        for suffix in STAFF_POSTS:
            r = c.post(f"/staff/visas/{app_a.reference}/{suffix}", {"decision": "revoke", "grounds": ["purpose"]})
            assert r.status_code == 404, (user, suffix, r.status_code)
        assert c.get("/staff/visas/").status_code == 404
    # B's staff on B's host with A's reference
    c = host_client(mission_b.host)
    login_with_second_factor(c, make_staff(mission_b, "consul"))
    assert c.get(f"/staff/visas/{app_a.reference}/").status_code == 404


def test_hq_analyst_cannot_write_on_mission(mission_a):
    app = visa_issued(mission_a)
    c = host_client(mission_a.host)
    login_with_second_factor(c, UserFactory(hq_role=HqRole.ANALYST))
    assert c.get(f"/staff/visas/{app.reference}/").status_code == 200
    for suffix in STAFF_POSTS:
        r = c.post(f"/staff/visas/{app.reference}/{suffix}", {"decision": "revoke", "grounds": ["purpose"], "note": "x"})
        assert r.status_code in (403, 404), (suffix, r.status_code)
    with schema_context(mission_a.schema_name):
        app.refresh_from_db()
    assert app.status == VisaStatus.ISSUED


def test_upload_of_other_case_via_staff_url(client_a, mission_a):
    a = visa_submitted(mission_a)
    b = visa_submitted(mission_a)
    with schema_context(mission_a.schema_name):
        up_b = Upload.objects.filter(application_id=b.pk).first()
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    r = client_a.get(f"/staff/visas/{a.reference}/files/{up_b.pk}/")
    assert r.status_code == 404
    r = client_a.get(f"/staff/visas/{a.reference}/files/99999999999999999999/")
    assert r.status_code == 404, r.status_code


def test_applicant_other_account_404(client_a, mission_a):
    app = visa_draft(mission_a)
    other = UserFactory()
    client_a.force_login(other)
    for path, method in (("", "get"), ("edit/", "get"), ("edit/identity/", "get"), ("edit/identity/", "post"),
                         ("autosave/", "post"), ("upload/photo/", "post"), ("corrections/", "post"),
                         ("visit/", "get"), ("visit/", "post"), ("withdraw/", "post")):
        r = getattr(client_a, method)(f"/visas/{app.reference}/{path}")
        assert r.status_code == 404, (path, method, r.status_code)
    # lowercase reference of own application?
    client_a.force_login(User.objects.get(pk=app.user_id))
    r = client_a.get(f"/visas/{app.reference.lower()}/edit/identity/")
    assert r.status_code in (200, 302, 404)


def test_consul_recommends_after_send_back_then_decides(in_mission_a, mission_a):
    app = visa_recommended(mission_a)
    c1 = make_staff(mission_a, "consul")
    c2 = make_staff(mission_a, "consul")
    officer = make_staff(mission_a, "officer")
    # c1 recommends refusal after a send-back by c2
    casework.application_return(application=app, reason="look again", acting_user=c2)
    app.refresh_from_db()
    casework.application_recommend(application=app, issue=False, grounds=["purpose"], acting_user=c1)
    app.refresh_from_db()
    # c2 sends back again; an officer recommends; c1 decides
    casework.application_return(application=app, reason="again", acting_user=c2)
    app.refresh_from_db()
    casework.application_recommend(application=app, issue=False, grounds=["purpose"], acting_user=officer)
    app.refresh_from_db()
    numbers_allocate(mission_a)
    with pytest.raises(ApplicationError):
        casework.application_decide(application=app, issue=False, grounds=["purpose"], acting_user=c1)


def test_consul_returns_recommends_himself_then_decides(in_mission_a, mission_a):
    app = visa_recommended(mission_a)
    c1 = make_staff(mission_a, "consul")
    casework.application_return(application=app, reason="look again", acting_user=c1)
    app.refresh_from_db()
    casework.application_recommend(application=app, issue=False, grounds=["purpose"], acting_user=c1)
    app.refresh_from_db()
    with pytest.raises(ApplicationError):
        casework.application_decide(application=app, issue=False, grounds=["purpose"], acting_user=c1)


def test_refusing_consul_decides_the_appeal(in_mission_a, mission_a):
    consul = make_staff(mission_a, "consul")
    appeal = visa_appealed(mission_a, consul=consul)
    with pytest.raises(ApplicationError):
        casework.appeal_decide(appeal=appeal, uphold=True, note="I stand by it.", acting_user=consul)


def test_appeal_recorder_decides(in_mission_a, mission_a):
    consul = make_staff(mission_a, "consul")
    app = visa_refused(mission_a)
    appeal = casework.appeal_record(application=app, lodged_on=mission_a.today(), statement="x", acting_user=consul)
    with pytest.raises(ApplicationError):
        casework.appeal_decide(appeal=appeal, uphold=True, note="no", acting_user=consul)


def test_raw_sql_recommender_decides_by_rewriting_recommender(in_mission_a, mission_a):
    from tests.consulate.test_database_roles import app_role_on_this_connection
    app = visa_recommended(mission_a)
    app_role_on_this_connection()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE visas_visaapplication SET status = 'refused', decided_by_id = recommended_by_id,"
            " recommended_by_id = -777, decided_at = now(), refusal_grounds = '[\"purpose\"]'"
            " WHERE id = %s", [app.pk])


def test_raw_sql_appeal_recorder_decides(in_mission_a, mission_a):
    from tests.consulate.test_database_roles import app_role_on_this_connection
    appeal = visa_appealed(mission_a)
    app_role_on_this_connection()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE visas_appeal SET status = 'upheld', decided_by_id = recorded_by_id,"
            " recorded_by_id = -777, decided_at = now(), decision_note = 'x' WHERE id = %s", [appeal.pk])


def test_workflow_misc(in_mission_a, mission_a):
    consul = make_staff(mission_a, "consul")
    # revoke a refused
    refused = visa_refused(mission_a)
    with pytest.raises(ApplicationError):
        casework.visa_end(application=refused, revoke=True, grounds=["purpose"], acting_user=consul)
    # issue twice
    issued = visa_issued(mission_a)
    with pytest.raises(ApplicationError):
        casework.application_decide(application=issued, issue=True, acting_user=make_staff(mission_a, "consul"))
    # extension before admissible
    sub = visa_submitted(mission_a)
    with pytest.raises(ApplicationError):
        casework.deadline_extend(application=sub, until=mission_a.today() + dt.timedelta(days=20), reason="x", acting_user=consul)
    # extension beyond 45 days
    comp = visa_complete(mission_a)
    with pytest.raises(ApplicationError):
        casework.deadline_extend(application=comp, until=mission_a.today() + dt.timedelta(days=46), reason="x", acting_user=consul)
    casework.deadline_extend(application=comp, until=mission_a.today() + dt.timedelta(days=45), reason="x", acting_user=consul)


def test_attend_unpaid_and_book_before_complete(in_mission_a, mission_a):
    comp = visa_complete(mission_a)
    with pytest.raises(ApplicationError):
        casework.application_attend(application=comp, identity_confirmed=True, acting_user=make_staff(mission_a, "officer"))
    from visas.services import application as services
    sub = visa_submitted(mission_a)
    user = User.objects.get(pk=sub.user_id)
    with pytest.raises(ApplicationError):
        services.application_visit_book(application=sub, slot_id=1, acting_user=user)
    from tests.visas.factories import item_file
    data, name = item_file("document")
    items = [i for i in services.category_items(category=services.application_category(application=sub))]
    with pytest.raises(ApplicationError):
        services.application_upload_add(application=sub, item=items[0].code, data=data, filename=name, acting_user=user)
