"""The screening: the applicant against the mission's copy of HQ's watchlist and HQ's register
of refusals at every mission; each match shown to an officer, who clears or confirms it with a
reason, before any recommendation."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import User
from consulate.kernel.errors import ApplicationError
from sync.models import OutboxEvent
from tests.conftest import make_staff
from tests.registers import outbox_on_the_wire
from tests.visas.factories import passport_number, visa_submitted
from tests.visas.factories_casework import visa_attended, visa_refused
from tests.visas.reference import to_hq
from visas.models import ScreeningHit, ScreeningResult
from visas.reference.models import WatchlistEntry
from visas.services import casework, screening

pytestmark = [pytest.mark.django_db]


def _listed(names: str, birth_date: dt.date | None, nationality: str = "", **kw) -> WatchlistEntry:
    """An entry in the mission's copy of the watchlist (as HQ's reference set brings it; made
    after the application, whose factory applies HQ's reference set, replacing the copy)."""
    # the copy keeps HQ's ids (its sequence is not moved): take one beyond them
    last = WatchlistEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    return WatchlistEntry.objects.create(
        id=last + 1000,
        names=names,
        birth_date=birth_date,
        nationality=nationality,
        reason="Test entry.",
        **kw,
    )


def test_a_near_match_is_shown_and_cleared_with_a_reason(in_mission_a, mission_a):
    # given an entry on the watchlist and an applicant whose name is spelt another way
    application = visa_attended(
        mission_a, surname="Müller", given_names="Hans-Peter", birth_date="1971-02-03",
        nationality="DEU",
    )  # fmt: skip
    entry = _listed("MUELLER HANS PETER", dt.date(1971, 2, 3), "DEU")
    officer = make_staff(mission_a, "officer")
    # when the officer screens the applicant
    run = screening.screening_run(application=application, acting_user=officer)
    # then the match is shown with its score and what to compare, and stops the recommendation
    assert run.result == ScreeningResult.OPEN
    hit = run.hits.get(source="watchlist", source_id=entry.pk)
    detail = json.loads(hit.detail)
    assert detail["names"] == ["MUELLER HANS PETER"]
    assert detail["birth_date"] == "1971-02-03"
    assert detail["reason"] == "Test entry."
    assert hit.score >= 0.9
    with connection.cursor() as cursor:
        cursor.execute("SELECT detail::text FROM visas_screeninghit WHERE id = %s", [hit.pk])
        assert "MUELLER" not in cursor.fetchone()[0]
    event = OutboxEvent.objects.get(topic="visas.application.screened")
    assert event.payload["result"] == "open"
    assert event.payload["watchlist_hits"] >= 1
    assert "Müller" not in json.dumps(event.payload)
    assert "MUELLER" not in json.dumps(event.payload)
    with pytest.raises(ApplicationError) as waiting:
        casework.application_recommend(application=application, issue=True, acting_user=officer)
    assert waiting.value.code.value == "visas.hits_open"
    # and the officer clears each match, with a reason (required)
    with pytest.raises(ApplicationError) as no_reason:
        screening.screening_hit_resolve(
            hit=hit, resolution="cleared", reason=" ", acting_user=officer
        )
    assert no_reason.value.code.value == "visas.reason_required"
    for each in run.hits.all():
        screening.screening_hit_resolve(
            hit=each,
            resolution="cleared",
            reason="Another person: the passport photo and the place of birth differ.",
            acting_user=officer,
        )
    run.refresh_from_db()
    assert run.result == ScreeningResult.CLEARED
    hit.refresh_from_db()
    assert hit.resolved_by_id == officer.pk
    casework.application_recommend(application=application, issue=True, acting_user=officer)


def test_a_confirmed_match_marks_the_screening(in_mission_a, mission_a):
    application = visa_submitted(
        mission_a, surname="Okonkwo", given_names="Chidi", birth_date="1980-05-05",
        nationality="NGA",
    )  # fmt: skip
    _listed("OKONKWO CHIDI", dt.date(1980, 5, 5), "NGA")
    officer = make_staff(mission_a, "officer")
    run = screening.screening_run(application=application, acting_user=officer)
    hit = run.hits.get()
    screening.screening_hit_resolve(
        hit=hit, resolution="confirmed", reason="Same person.", acting_user=officer
    )
    run.refresh_from_db()
    assert run.result == ScreeningResult.CONFIRMED
    with pytest.raises(ApplicationError):
        screening.screening_hit_resolve(
            hit=hit, resolution="cleared", reason="Changed my mind.", acting_user=officer
        )


@pytest.mark.parametrize(
    ("listed", "surname", "given_names"),
    [
        ("MUHAMMAD RASHIDOV KARIM", "Rashidov", "Mohammed Karim"),
        ("MUHAMMAD RASHIDOV KARIM", "Rashidov", "Mukhammad Karim"),
        ("MOHAMMED RASHIDOV KARIM", "Rashidov", "Muhammad Karim"),
        ("ŞAHIN MEHMET EMIN", "Sahin", "Mehmet Emin"),
        ("SAHIN MEHMET EMIN", "Şahin", "Mehmet Emin"),
        ("MÜLLER ANNA LENA", "Mueller", "Anna Lena"),
        ("MUELLER ANNA LENA", "Müller", "Anna Lena"),
    ],
)
def test_transliterated_names_meet(in_mission_a, mission_a, listed, surname, given_names):
    application = visa_submitted(
        mission_a, surname=surname, given_names=given_names, birth_date="1975-09-09"
    )
    entry = _listed(listed, dt.date(1975, 9, 9))
    run = screening.screening_run(
        application=application, acting_user=make_staff(mission_a, "officer")
    )
    assert run.hits.filter(source="watchlist", source_id=entry.pk).exists()


def test_ended_and_expired_entries_are_not_screened(in_mission_a, mission_a):
    from django.utils import timezone

    application = visa_submitted(
        mission_a, surname="Okafor", given_names="Ngozi", birth_date="1990-01-02"
    )
    ended = _listed("OKAFOR NGOZI", dt.date(1990, 1, 2), ended_at=timezone.now())
    expired = _listed(
        "OKAFOR NGOZI ADA", dt.date(1990, 1, 2), expires_on=mission_a.today() - dt.timedelta(days=1)
    )
    listed = _listed("OKAFOR NGOZI", dt.date(1990, 1, 2))
    run = screening.screening_run(
        application=application, acting_user=make_staff(mission_a, "officer")
    )
    assert not run.hits.filter(source_id__in=[ended.pk, expired.pk], source="watchlist").exists()
    assert run.hits.filter(source_id=listed.pk, source="watchlist").exists()


def test_a_new_submission_makes_the_screening_stale(in_mission_a, mission_a):
    application = visa_attended(mission_a)
    officer = make_staff(mission_a, "officer")
    screening.screening_run(application=application, acting_user=officer)
    # corrections sent later than the screening (as if the run were older)
    from visas.models import Screening

    Screening.objects.filter(application=application).update(
        created_at=application.submitted_at - dt.timedelta(minutes=1)
    )
    with pytest.raises(ApplicationError) as stale:
        casework.application_recommend(application=application, issue=True, acting_user=officer)
    assert stale.value.code.value == "visas.not_screened"


def test_a_name_changed_during_corrections_is_screened_again(in_mission_a, mission_a):
    from fees.models import Assessment
    from tests.fees.conftest import pay_cash
    from tests.visas.factories import corrections_send
    from tests.visas.factories_casework import accept_all
    from visas.models import FORM_ITEM
    from visas.services import application as services

    # given an applicant screened under one name, then asked to correct the form and a document
    application = visa_submitted(mission_a, surname="Smith", given_names="Jane Mary")
    officer = make_staff(mission_a, "officer")
    screened = screening.screening_run(application=application, acting_user=officer)
    assert screened.result == ScreeningResult.CLEAR
    decisions = accept_all(application)
    decisions["passport_copy"] = (False, "The copy is cut off at the bottom.")
    decisions[FORM_ITEM] = (False, "Your surname is spelt differently in the passport.")
    casework.completeness_review(application=application, decisions=decisions, acting_user=officer)
    user = User.objects.get(pk=application.user_id)
    application.refresh_from_db()
    # when the applicant changes the surname as asked, sends the corrections, and the file is
    # then complete and seen at the visit
    services.application_draft_autosave(
        application=application, data={"surname": "Okafor"}, acting_user=user
    )
    corrections_send(application, user)
    casework.completeness_review(
        application=application,
        decisions={"passport_copy": (True, ""), FORM_ITEM: (True, "")},
        acting_user=officer,
    )
    application.refresh_from_db()
    pay_cash(Assessment.objects.get(pk=application.assessment_id), make_staff(mission_a, "cashier"))
    application = casework.application_attend(
        application=application, identity_confirmed=True, acting_user=officer
    )
    # then the screening made under the old name no longer counts
    with pytest.raises(ApplicationError) as stale:
        casework.application_recommend(application=application, issue=True, acting_user=officer)
    assert stale.value.code.value == "visas.not_screened"
    # and once screened again, under the new name, the case is recommended
    listed = _listed("OKAFOR JANE MARY", dt.date(1985, 6, 15), "USA")
    again = screening.screening_run(application=application, acting_user=officer)
    assert again.hits.filter(source="watchlist", source_id=listed.pk).exists()
    for hit in again.hits.all():
        screening.screening_hit_resolve(
            hit=hit, resolution="cleared", reason="Another person.", acting_user=officer
        )
    casework.application_recommend(application=application, issue=True, acting_user=officer)


def _refused_at_a_seen_by_hq(mission_a, **kw):
    """Refused at mission A, its events projected into HQ's register."""
    refused = visa_refused(mission_a, grounds=["false_document"], **kw)
    with schema_context(mission_a.schema_name):
        events = outbox_on_the_wire("visas.")
    to_hq(mission_a, events)
    return refused


def test_an_earlier_refusal_at_another_mission_is_shown(mission_a, mission_b):
    # given an applicant refused at mission A, which HQ's register knows
    refused = _refused_at_a_seen_by_hq(
        mission_a, surname="Kovalenko", given_names="Oksana", birth_date="1992-04-17",
        nationality="UKR",
    )  # fmt: skip
    # when the same person applies at mission B, with another passport
    with schema_context(mission_b.schema_name):
        application = visa_submitted(
            mission_b, surname="Kovalenko", given_names="Oksana", birth_date="1992-04-17",
            nationality="UKR",
        )  # fmt: skip
        run = screening.screening_run(
            application=application, acting_user=make_staff(mission_b, "officer")
        )
        # then B's screening shows A's refusal, its date and grounds
        assert run.refusals_compared >= 1
        hit = run.hits.get(source="refusal")
        detail = screening.hit_detail(hit)
        assert detail["mission"] == "alpha"
        assert detail["reference"] == refused.reference
        assert detail["grounds"] == ["false_document"]
        assert detail["same_passport"] is False
        assert "forged" in str(detail["grounds_labels"][0])
        assert hit.source_id == refused.pk


def test_the_same_passport_is_a_hit_whatever_the_name(mission_a, mission_b):
    number = passport_number()
    _refused_at_a_seen_by_hq(
        mission_a, surname="Petrenko", given_names="Ivan", passport_number=number
    )
    with schema_context(mission_b.schema_name):
        application = visa_submitted(
            mission_b, surname="Brown", given_names="Alice", birth_date="2000-01-01",
            passport_number=number,
        )  # fmt: skip
        run = screening.screening_run(
            application=application, acting_user=make_staff(mission_b, "officer")
        )
        hit = run.hits.get(source="refusal")
        assert float(hit.score) == 1.0
        assert screening.hit_detail(hit)["same_passport"] is True


def test_an_application_is_not_its_own_earlier_refusal(mission_a):
    refused = _refused_at_a_seen_by_hq(mission_a, surname="Tanaka", given_names="Yuki")
    with schema_context(mission_a.schema_name):
        appeal = casework.appeal_record(
            application=refused,
            lodged_on=mission_a.today(),
            statement="New documents.",
            acting_user=make_staff(mission_a, "officer"),
        )
        casework.appeal_decide(
            appeal=appeal, uphold=False, note="Examine again.",
            acting_user=make_staff(mission_a, "consul"),
        )  # fmt: skip
        from visas.models import VisaApplication

        application = VisaApplication.objects.get(pk=refused.pk)
        run = screening.screening_run(
            application=application, acting_user=make_staff(mission_a, "officer")
        )
        assert not ScreeningHit.objects.filter(
            screening=run, source="refusal", source_id=refused.pk
        ).exists()


def test_why_it_matched_is_stored_as_codes_and_read_in_the_readers_language(
    in_mission_a, mission_a
):
    from django.utils import translation

    application = visa_attended(
        mission_a, surname="Müller", given_names="Hans-Peter", birth_date="1971-02-03",
        nationality="DEU",
    )  # fmt: skip
    entry = _listed("MUELLER HANS PETER", dt.date(1971, 2, 3), "DEU")
    officer = make_staff(mission_a, "officer")
    run = screening.screening_run(application=application, acting_user=officer)
    hit = run.hits.get(source="watchlist", source_id=entry.pk)
    stored = json.loads(hit.detail)
    codes = [reason["code"] for reason in stored["why"]]
    assert codes[0] == "name"
    assert "birth_same" in codes
    assert "nationality_same" in codes
    assert stored["why"][0]["spelling"] == "MUELLER HANS PETER"
    percent = stored["name_percent"]
    with translation.override("en"):
        detail = screening.hit_detail(hit)
    assert (
        f"The name is {percent}% similar to “MUELLER HANS PETER” on the list."
        in (detail["why_text"])
    )
    assert "Same date of birth." in detail["why_text"]
    assert detail["score_text"] == (
        f"Score {int(hit.score * 100)}% (name {percent}% similar, same date of birth,"
        " same nationality)"
    )
    with translation.override("tr"):
        turkish = screening.hit_detail(hit)
    assert "Doğum tarihi aynı." in turkish["why_text"]
    assert "Same date of birth." not in turkish["why_text"]
    assert turkish["score_text"].startswith(f"Puan %{int(hit.score * 100)} (ad %{percent} benzer")
    # a run stored before the codes keeps its sentences
    old = ScreeningHit(score=hit.score, detail=json.dumps({"why": ["Same nationality."]}))
    assert screening.hit_detail(old)["why_text"] == ["Same nationality."]
    assert screening.hit_detail(old)["score_text"] == f"Score {int(hit.score * 100)}%"


def test_a_refusal_hit_names_the_mission_and_is_not_on_a_list(mission_a, mission_b):
    from django.utils import translation

    _refused_at_a_seen_by_hq(
        mission_a, surname="Kovalenko", given_names="Oksana", birth_date="1992-04-17",
        nationality="UKR",
    )  # fmt: skip
    with schema_context(mission_b.schema_name):
        application = visa_submitted(
            mission_b, surname="Kovalenko", given_names="Oksana", birth_date="1992-04-17",
            nationality="UKR",
        )  # fmt: skip
        run = screening.screening_run(
            application=application, acting_user=make_staff(mission_b, "officer")
        )
        hit = run.hits.get(source="refusal")
        with translation.override("en"):
            detail = screening.hit_detail(hit)
    assert detail["mission_name"] == mission_a.name
    assert detail["decided"] is not None
    name_reason = detail["why_text"][0]
    assert f"refused at {mission_a.name}." in name_reason
    assert "on the list" not in name_reason
