"""Every staff form of the case page that can be refused names its refusals at the top, in the
error summary the completeness check uses (`_error_summary.html`): announced on
arrival and focusable, each reason with its field's name and a link to the field, which carries
the same reason beside it; no banner repeats the first, and nothing is recorded."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from django_tenants.utils import schema_context

from missions.models import Mission
from tests.conftest import error_summary, make_staff, texts_of
from tests.missions.test_tenant_isolation import login_with_second_factor
from tests.visas.factories_casework import (
    visa_appealed,
    visa_issued,
    visa_paid,
    visa_recommended,
    visa_refused,
    visa_screened,
)
from tests.visas.test_casework_views import _open_match, _with_matches
from visas.models import ScreeningHit, VisaApplication

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


@dataclasses.dataclass(frozen=True)
class Refused:
    """A staff form sent so that it is refused: where, as whom, what, and the summary's line
    (its link, then its text) in each language."""

    prepare: Callable[[Mission], VisaApplication]
    role: str
    path: str  # after the case's address; {match}: the match's pk
    data: dict[str, Any]
    link: str
    said: dict[str, str]


REQUIRED = {"en": "This field is required.", "tr": "Bu alan zorunlu."}
TOO_LONG = {"en": "Use at most 2000 characters.", "tr": "En fazla 2000 karakter kullanın."}
NO_GROUND = {"en": "Name at least one ground.", "tr": "En az bir gerekçe belirtin."}

REFUSED = {
    "attend": Refused(
        visa_paid, "officer", "attend/", {}, "#id_identity_confirmed",
        {"en": "I checked the person against the passport and the application: Confirm that you "
               "checked the person's identity against the passport.",
         "tr": "Kişiyi pasaportla ve başvuruyla karşılaştırdım: Kişinin kimliğini pasaportla "
               "karşılaştırdığınızı onaylayın."},
    ),
    "match": Refused(
        _with_matches, "officer", "matches/{match}/", {"resolution": "cleared"}, "#reason-{match}",
        {"en": f"Why (required): {REQUIRED['en']}", "tr": f"Gerekçe (zorunlu): {REQUIRED['tr']}"},
    ),
    "match-choice": Refused(
        _with_matches, "officer", "matches/{match}/", {"reason": "Another man."},
        "#resolution-{match}",
        {"en": f"This match is: {REQUIRED['en']}", "tr": f"Bu eşleşme: {REQUIRED['tr']}"},
    ),
    "recommend": Refused(
        visa_screened, "officer", "recommend/", {"recommendation": "issue", "note": "x" * 2001},
        "#id_note",
        {"en": f"Note for the consul (the proposed validity, entries): {TOO_LONG['en']}",
         "tr": f"Konsolos için not (önerilen geçerlilik süresi, giriş sayısı): {TOO_LONG['tr']}"},
    ),
    "decide": Refused(
        visa_recommended, "consul", "decide/", {"decision": "refuse"}, "#id_grounds",
        {"en": f"Grounds of a refusal (the applicant reads them): {NO_GROUND['en']}",
         "tr": f"Ret gerekçeleri (başvuru sahibi okur): {NO_GROUND['tr']}"},
    ),
    "extend": Refused(
        visa_recommended, "consul", "extend/", {"until": "", "reason": "More checks."},
        "#id_until",
        {"en": f"New decision date: {REQUIRED['en']}",
         "tr": f"Yeni karar tarihi: {REQUIRED['tr']}"},
    ),
    "appeal": Refused(
        visa_refused, "officer", "appeal/", {"lodged_on": "2026-01-05", "statement": ""},
        "#id_statement",
        {"en": f"The appellant's grounds: {REQUIRED['en']}",
         "tr": f"İtiraz edenin gerekçeleri: {REQUIRED['tr']}"},
    ),
    "appeal-decide": Refused(
        lambda mission: visa_appealed(mission).application, "consul", "appeal/decide/",
        {"decision": "uphold", "note": ""}, "#id_note",
        {"en": f"Reasons for the decision (the applicant reads them): {REQUIRED['en']}",
         "tr": f"Kararın gerekçeleri (başvuru sahibi okur): {REQUIRED['tr']}"},
    ),
    "end": Refused(
        visa_issued, "consul", "end/", {"decision": "annul"}, "#id_grounds",
        {"en": f"Grounds (at least one): {NO_GROUND['en']}",
         "tr": f"Gerekçeler (en az bir tane): {NO_GROUND['tr']}"},
    ),
}  # fmt: skip


def _recorded(mission: Mission, application: VisaApplication) -> tuple[object, ...]:
    with schema_context(mission.schema_name):
        return (
            VisaApplication.objects.get(pk=application.pk).status,
            application.history.count(),
            list(ScreeningHit.objects.filter(screening__application_id=application.pk).values()),
        )


@pytest.mark.parametrize("language", ["en", "tr"])
@pytest.mark.parametrize("form", list(REFUSED), ids=list(REFUSED))
def test_a_refused_staff_form_is_named_in_the_pages_errorerror_summary(
    client_a, mission_a, form, language
):
    refused = REFUSED[form]
    # given a case at the point where the form shows, and a member of staff who may send it
    with schema_context(mission_a.schema_name):
        application = refused.prepare(mission_a)
        match = _open_match(application) if "{match}" in refused.path else 0
    login_with_second_factor(client_a, make_staff(mission_a, refused.role))
    recorded = _recorded(mission_a, application)
    # when the form is sent so that it is refused
    answer = client_a.post(
        f"/staff/visas/{application.reference}/{refused.path.format(match=match)}",
        refused.data,
        HTTP_ACCEPT_LANGUAGE=language,
    )
    # then the page's error summary, at the top, names the field and links to it, which is
    # on the page with the same reason beside it; no banner repeats it
    assert answer.status_code == 400
    html = answer.content.decode()
    link = refused.link.format(match=match)
    assert error_summary(html) == [(link, refused.said[language])]
    assert 'class="error-summary" role="alert" tabindex="-1" id="error-summary"' in html
    assert html.index('id="error-summary"') < html.index('id="checklist-heading"')
    assert f'id="{link[1:]}"' in html
    reason = refused.said[language].rsplit(": ", 1)[1]
    assert reason in texts_of(html, "span", class_="field-message")
    assert not texts_of(html, "li", class_="message error")
    # and nothing is recorded
    assert _recorded(mission_a, application) == recorded


def test_a_case_page_without_a_refusal_has_no_errorerror_summary(client_a, mission_a):
    # given a recommended case, whose page shows the decision's and the extension's forms
    application = visa_recommended(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "consul"))
    # when the consul opens it
    html = client_a.get(f"/staff/visas/{application.reference}/").content.decode()
    # then no summary stands at the top
    assert 'id="error-summary"' not in html
