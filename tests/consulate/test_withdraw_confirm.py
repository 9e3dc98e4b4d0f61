"""A step that cannot be undone is asked for twice (consulate/templates/_withdraw_confirm.html):
discarding a passport or visa draft, withdrawing a submitted application. One tap on "Discard
this draft" withdrew the draft at once; a user trial hit it by mistake just under "Back"."""

from __future__ import annotations

import re

import pytest

from tests.conftest import text_of, texts_of
from tests.passports.test_views import _draft_page
from tests.visas.factories import visa_draft, visa_submitted
from tests.visas.test_apply_views import _fresh, _owner_signs_in
from visas.models import VisaStatus

WORDS = {
    "en": {
        "draft": ("Discard this draft", "What you entered is discarded and cannot be brought back.",
                  "Yes, discard the draft"),
        "application": ("Withdraw this application",
                        "The mission stops working on your application. This cannot be undone.",
                        "Yes, withdraw the application"),
    },
    "tr": {
        "draft": ("Bu taslaktan vazgeç", "Girdiğiniz bilgiler silinir ve geri getirilemez.",
                  "Evet, taslağı sil"),
        "application": ("Bu başvuruyu geri çek",
                        "Temsilcilik başvurunuz üzerinde çalışmayı bırakır. "
                        "Bu işlem geri alınamaz.",
                        "Evet, başvuruyu geri çek"),
    },
}  # fmt: skip


def asked_twice(html: str, action: str) -> tuple[str, str, str]:
    """The first tap's words (a disclosure, not a button that sends), the warning it opens and
    the button that sends, whose form is the only one posting to `action`."""
    block = re.search(r'<details class="confirm-step">.*?</details>', html, re.S)
    assert block, "no confirmation step"
    assert html.count(f'action="{action}"') == 1
    assert f'action="{action}"' in block.group(0)
    inside = block.group(0)
    return (text_of(inside, "summary"), text_of(inside, "p"), texts_of(inside, "button")[0])


@pytest.mark.parametrize("language", ["en", "tr"])
def test_a_passport_draft_is_discarded_only_when_asked_twice(client_a, mission_a, language):
    edit = _draft_page(client_a, mission_a)
    reference = edit.split("/")[2]
    html = client_a.get(edit, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert asked_twice(html, f"/passports/{reference}/withdraw/") == WORDS[language]["draft"]


@pytest.mark.parametrize("language", ["en", "tr"])
def test_a_visa_draft_and_a_submitted_visa_are_withdrawn_only_when_asked_twice(
    client_a, mission_a, language
):
    draft = visa_draft(mission_a, uploads=False)
    _owner_signs_in(client_a, draft)
    page = client_a.get(
        f"/visas/{draft.reference}/edit/", follow=True, HTTP_ACCEPT_LANGUAGE=language
    )
    action = f"/visas/{draft.reference}/withdraw/"
    assert asked_twice(page.content.decode(), action) == WORDS[language]["draft"]
    submitted = visa_submitted(mission_a)
    _owner_signs_in(client_a, submitted)
    html = client_a.get(
        f"/visas/{submitted.reference}/", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    action = f"/visas/{submitted.reference}/withdraw/"
    assert asked_twice(html, action) == WORDS[language]["application"]
    # and the second tap withdraws it, as the one tap did
    assert client_a.post(action).status_code == 302
    assert _fresh(mission_a, submitted).status == VisaStatus.WITHDRAWN
