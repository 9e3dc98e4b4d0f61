"""The sync pages: HQ's view of every mission's link and a mission's view of its own, the
"Push now" and "Export file" buttons, files carried by hand (a mission's file imported at HQ,
HQ's answer imported at the mission, made here with the real functions), the reference data's
age, and HQ's alert about silent missions.

HQ's tables (`sync.hq.models`) are written here directly: they are what the applying side
(tests/sync/) leaves behind, and these tests are about what people see of them."""

from __future__ import annotations

import datetime as dt
import re
import struct
import zoneinfo

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import HqRole
from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from fees.reference.services import rounding_rule_set
from missions.models import Mission
from missions.selectors_sync import SeqRange, gaps_before_held, sync_mission_list_for_hq
from missions.services import membership_grant
from missions.services.sync import sync_silence_alert
from sync.bundle import SignedBundle, file_pack, file_unpack
from sync.error_codes import BundleRefusal, SyncError
from sync.export import bundles_build, file_export
from sync.hq.answer import push_answer
from sync.hq.models import HeldBundle, MissionLink, RefusedBundle
from sync.models import OutboxCounter, SyncLink
from sync.reference import reference_publish
from tests.conftest import (
    MODEL_BACKEND,
    host_client,
    make_staff,
    text_of,
    texts_of,
    written_short,
)
from tests.factories import MembershipFactory, MissionFactory, UserFactory
from tests.missions.sync_fakes import FILE_BYTES, export_replaced

NOW = timezone.now()
HQ_ZONE = zoneinfo.ZoneInfo("Europe/Istanbul")  # the tests' HQ row
QUERIES_HQ_SYNC_PAGE = 7  # no `SET search_path`: the connection holds public's path


def _login(client, user):  # type: ignore[no-untyped-def]
    if not user.authenticator_set.filter(type="totp").exists():
        TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    client.force_login(user, backend=MODEL_BACKEND)
    return client


def _hq_client(role: str = HqRole.ANALYST, language: str = "en"):  # type: ignore[no-untyped-def]
    client = _login(host_client("localhost"), UserFactory(hq_role=role))
    client.cookies["django_language"] = language
    return client


def _contact(mission: Mission, *, minutes_ago: int, last_seq: int = 0, **fields) -> MissionLink:  # type: ignore[no-untyped-def]
    link, _ = MissionLink.objects.update_or_create(
        mission=mission.code,
        defaults={
            "last_contact_at": timezone.now() - dt.timedelta(minutes=minutes_ago),
            "last_seq": last_seq,
            **fields,
        },
    )
    return link


def _held(mission: Mission, number: int, first: int, last: int) -> HeldBundle:
    return HeldBundle.objects.create(
        mission=mission.code,
        number=number,
        first_seq=first,
        last_seq=last,
        data=b"frame",
        received_at=timezone.now(),
    )


def _refused(mission: Mission, reason: BundleRefusal, *, number: int = 3, detail: str = ""):  # type: ignore[no-untyped-def]
    return RefusedBundle.objects.create(
        received_at=timezone.now(),
        mission=mission.code,
        number=number,
        reason=reason.value,
        detail=detail,
        sha256="0" * 64,
        size=1234,
        source="http",
    )


# --- the reads -----------------------------------------------------------------------------------


def test_gaps_are_the_ranges_missing_before_each_held_bundle():
    from missions.selectors_sync import HeldInfo

    held = [HeldInfo(9, 40, 49, NOW), HeldInfo(7, 20, 29, NOW), HeldInfo(8, 30, 35, NOW)]
    # applied to 10; 20-29, 30-35 and 40-49 are held: 11-19 and 36-39 are missing
    assert gaps_before_held(10, held) == [SeqRange(11, 19), SeqRange(36, 39)]
    assert gaps_before_held(19, held[1:2]) == []


def test_silent_missions_come_first_longest_silence_first(mission_a, mission_b, settings):
    # given a threshold of 60 minutes, alpha heard from 5 minutes ago, beta 3 hours ago and a
    # third mission 2 hours ago
    settings.SYNC_SILENCE_ALERT_MINUTES = 60
    gamma = MissionFactory(code="gamma")
    _contact(mission_a, minutes_ago=5)
    _contact(mission_b, minutes_ago=180)
    _contact(gamma, minutes_ago=120)
    # when HQ lists the links
    rows = sync_mission_list_for_hq()
    # then beta and gamma are silent and first, the longest silence first
    assert [(row.mission.code, row.silent) for row in rows] == [
        ("beta", True),
        ("gamma", True),
        ("alpha", False),
    ]
    assert rows[0].lag_minutes == 180


# --- HQ's pages ----------------------------------------------------------------------------------


def test_hq_sync_page_shows_every_mission_with_its_figures(mission_a, mission_b, settings):
    # given alpha applied to 1,234 with bundles 7 (1,300-1,309) held and two refusals, beta silent
    settings.SYNC_SILENCE_ALERT_MINUTES = 60
    alpha = _contact(mission_a, minutes_ago=2, last_seq=1234, reference_version_acked=5)
    _held(mission_a, 7, 1300, 1309)
    _refused(mission_a, BundleRefusal.BAD_SIGNATURE)
    _refused(mission_a, BundleRefusal.CHAIN_BROKEN)
    _contact(mission_b, minutes_ago=600)
    # when an HQ analyst opens the sync page
    response = _hq_client().get("/hq/sync/")
    # then each mission is a row with its figures, the silent one first and marked in words
    assert response.status_code == 200
    html = response.content.decode()
    rows = texts_of(html, "tr")
    beta_row = next(row for row in rows if mission_b.name in row)
    alpha_row = next(row for row in rows if mission_a.name in row)
    assert rows.index(beta_row) < rows.index(alpha_row)
    assert "Silent" in beta_row
    assert "Silent" not in alpha_row
    assert "1,234" in alpha_row
    assert "1,235–1,299" in alpha_row
    assert "10" in alpha_row  # events held
    assert "2 min" in alpha_row
    # its last contact in HQ's zone as every page writes a time (24 hours), the zone named once
    assert written_short(alpha.last_contact_at.astimezone(HQ_ZONE)) in alpha_row
    assert "Times in Europe/Istanbul." in html
    assert not re.search(r"\b[AP]M\b", html)
    # and the alert names the silent mission
    assert mission_b.name in text_of(html, "section")


SILENT_ONCE = {
    "en": "A mission is silent when HQ has not heard from it for 5 min.",
    "tr": "Merkez (HQ) bir temsilcilikten 5 dk. boyunca haber alamazsa temsilcilik sessiz sayılır.",
}
SILENT_PER_ROW = {
    "en": "A mission is silent when HQ has not heard from it for longer than its own threshold, "
    "shown in its row.",
    "tr": "Merkez (HQ) bir temsilcilikten, satırında gösterilen kendi eşiğinden uzun süre haber "
    "alamazsa temsilcilik sessiz sayılır.",
}
COLUMN_HELP = {
    "en": ("Lag", "Time since the last contact.", "Events held", "Reference version acknowledged"),
    "tr": ("Gecikme", "Son bağlantıdan bu yana geçen süre.", "Bekletilen olaylar",
           "Onaylanan referans sürümü"),
}  # fmt: skip


@pytest.mark.parametrize("language", ["en", "tr"])
def test_hq_sync_page_states_each_missions_own_threshold(mission_a, mission_b, settings, language):
    # given the default is 60 minutes but both missions' own threshold is 5 (as the demo's)
    settings.SYNC_SILENCE_ALERT_MINUTES = 60
    Mission.objects.filter(code__in=["alpha", "beta"]).update(silence_alert_minutes=5)
    _contact(mission_a, minutes_ago=10)
    _contact(mission_b, minutes_ago=2)
    # when HQ opens the sync page
    html = _hq_client(language=language).get("/hq/sync/").content.decode()
    # then it says the one threshold that decided, once, and marks alpha silent by it
    help_text = " ".join(text_of(html, "p", class_="help").split())
    assert SILENT_ONCE[language] in help_text
    assert "60" not in help_text
    alpha_row = next(row for row in texts_of(html, "tr") if mission_a.name in row)
    assert ("Silent" if language == "en" else "Sessiz") in alpha_row
    # and each column is explained under the table, as the dashboard explains its own
    terms = texts_of(html, "dt")
    lag, lag_help, held, reference = COLUMN_HELP[language]
    assert {lag, held, reference} <= set(terms)
    assert texts_of(html, "dd")[terms.index(lag)].startswith(lag_help)
    # when Tokyo's threshold is 3 hours: each row says its own
    Mission.objects.filter(code="beta").update(silence_alert_minutes=180)
    html = _hq_client(language=language).get("/hq/sync/").content.decode()
    assert SILENT_PER_ROW[language] in " ".join(text_of(html, "p", class_="help").split())
    rows = {row.split("\n")[0]: row for row in texts_of(html, "tr")[1:]}
    minutes = "min" if language == "en" else "dk."
    assert f"\n5 {minutes}\n" in rows[mission_a.name]
    assert f"\n180 {minutes}\n" in rows[mission_b.name]
    # and the mission's own page says the threshold it is judged by
    page = _hq_client(language=language).get("/hq/sync/beta/").content.decode()
    assert f"180 {minutes}" in text_of(page, "dl", class_="grid sync-summary")


def test_hq_sync_page_in_turkish_formats_numbers_the_turkish_way(mission_a):
    _contact(mission_a, minutes_ago=2, last_seq=1234)
    html = _hq_client(language="tr").get("/hq/sync/").content.decode()
    assert "Temsilciliklerle eşitleme" in html
    alpha_row = next(row for row in texts_of(html, "tr") if mission_a.name in row)
    assert "1.234" in alpha_row


def test_hq_mission_page_shows_refusals_in_words_gaps_and_held_bundles(mission_a):
    # given a held bundle after a gap and a tampered bundle refused
    _contact(mission_a, minutes_ago=1, last_seq=99)
    _held(mission_a, 12, 150, 199)
    _refused(mission_a, BundleRefusal.BAD_SIGNATURE, number=11, detail="signature check failed")
    # when HQ opens alpha's page, in English and in Turkish
    english = _hq_client().get("/hq/sync/alpha/")
    turkish = _hq_client(language="tr").get("/hq/sync/alpha/")
    # then the refusal reads as a sentence, the gap as a range, the held bundle with its range
    assert english.status_code == turkish.status_code == 200
    text = english.content.decode()
    assert "the bundle was altered after it was signed" in text
    assert "100 to 149 (50 events)" in text
    assert "150–199" in text
    assert "değiştirilmiş" in turkish.content.decode()


def test_hq_mission_page_of_an_unknown_mission_is_404(mission_a):
    assert _hq_client().get("/hq/sync/nowhere/").status_code == 404
    assert _hq_client().get("/hq/sync/%00/").status_code in (400, 404)


def test_hq_sync_pages_are_not_there_for_mission_staff(mission_a):
    client = _login(host_client("localhost"), make_staff(mission_a, "mission_admin"))
    assert client.get("/hq/sync/").status_code == 404
    assert client.get("/hq/sync/alpha/").status_code == 404


@pytest.mark.usefixtures("settled_keys")
def test_hq_sync_page_costs_the_same_queries_whatever_the_number_of_missions(
    mission_a, mission_b, django_assert_num_queries
):
    # given an analyst, and missions with links, held bundles and refusals
    client = _hq_client()
    client.get("/")  # the session's first write
    _contact(mission_a, minutes_ago=1, last_seq=10)
    _held(mission_a, 3, 20, 29)
    _refused(mission_b, BundleRefusal.MALFORMED)
    # the host's domain, the session, the user with their roles and second factor (3-4), then
    # the missions, their links, their held bundles, their refusal counts and the refusals
    # from unknown senders (5)
    with django_assert_num_queries(QUERIES_HQ_SYNC_PAGE):
        assert client.get("/hq/sync/").status_code == 200
    # when three more missions open, each with a link, a held bundle and a refusal
    for n in range(3):
        extra = MissionFactory(code=f"sq{n}")
        MembershipFactory(mission=extra)
        _contact(extra, minutes_ago=n * 100, last_seq=5)
        _held(extra, 2, 10, 19)
        _refused(extra, BundleRefusal.REVOKED_KEY)
    # then the page costs the same
    with django_assert_num_queries(QUERIES_HQ_SYNC_PAGE):
        response = client.get("/hq/sync/")
    assert response.content.decode().count('href="/hq/sync/sq') >= 3


def test_hq_dashboard_alerts_about_silent_missions_and_links_to_their_pages(mission_a, settings):
    settings.SYNC_SILENCE_ALERT_MINUTES = 30
    _contact(mission_a, minutes_ago=45)
    html = _hq_client().get("/hq/").content.decode()
    assert text_of(html, "h2", id="alerts-heading") == "1 alert"
    assert "No contact with HQ for 45 minutes (alert after 30 minutes)." in html
    # the mission's monitoring page and HQ's sync page are a click away
    assert 'href="/hq/missions/alpha/"' in html
    assert 'href="/hq/sync/"' in html


# --- a mission's page ----------------------------------------------------------------------------


def _record_events(mission: Mission, count: int) -> None:
    """`count` events in the mission's outbox, through a real service (a role granted)."""
    for _ in range(count):
        membership_grant(user=UserFactory(), mission=mission, role="cashier", acting_user=SYSTEM)


def _last_seq(mission: Mission) -> int:
    with schema_context(mission.schema_name):
        return OutboxCounter.objects.get(pk=1).last_seq


def test_the_mission_page_shows_what_waits_for_hq(mission_a):
    # given 5 events recorded, 2 acknowledged, and a failed attempt
    officer = make_staff(mission_a, "officer")
    _record_events(mission_a, 5)
    with schema_context(mission_a.schema_name):
        SyncLink.objects.filter(pk=1).update(
            acked_seq=2,
            last_attempt_at=timezone.now(),
            last_error=SyncError.UNREACHABLE.value,
            failures=3,
        )
    client = _login(host_client(mission_a.host), officer)
    # when an officer opens the page
    response = client.get("/staff/sync/")
    # then it shows the events waiting, the error in words, and no buttons (officers may not)
    html = response.content.decode()
    assert response.status_code == 200
    assert text_of(html, "dd") == f"{_last_seq(mission_a) - 2:,}"
    assert "HQ could not be reached" in html
    assert mission_a.timezone in html
    assert "Push now" not in html
    assert "Export file" not in html


def test_buttons_show_for_the_mission_admin_and_push_now_pushes(mission_a):
    _record_events(mission_a, 3)
    client = _login(host_client(mission_a.host), make_staff(mission_a, "mission_admin"))
    assert "Push now" in client.get("/staff/sync/").content.decode()
    # when the admin presses "Push now"
    with export_replaced() as calls:
        response = client.post("/staff/sync/push/", follow=True)
    # then the transport was asked once, for this mission, and nothing is left waiting
    assert calls == [("push", "alpha")]
    assert "Pushed to HQ" in response.content.decode()
    with schema_context(mission_a.schema_name):
        assert text_of(client.get("/staff/sync/").content, "dd") == "0"


def test_a_push_that_fails_says_why_in_the_readers_language(mission_a):
    client = _login(host_client(mission_a.host), make_staff(mission_a, "mission_admin"))
    client.cookies["django_language"] = "tr"

    def unreachable(*, code):  # type: ignore[no-untyped-def]
        raise ApplicationError(SyncError.UNREACHABLE, "HQ did not answer")

    with export_replaced(push=unreachable):
        response = client.post("/staff/sync/push/")
    assert response.status_code == 400
    assert "HQ did not answer" in response.content.decode()


def test_export_downloads_the_sealed_file_named_for_the_mission_and_its_day(mission_a):
    client = _login(host_client(mission_a.host), make_staff(mission_a, "mission_admin"))
    with export_replaced() as calls:
        response = client.post("/staff/sync/export/")
    assert response.status_code == 200
    assert response.content == FILE_BYTES
    expected = f"sync-alpha-{mission_a.today().isoformat()}.csb"
    assert response["Content-Disposition"] == f'attachment; filename="{expected}"'
    assert calls == [("file_export", "alpha")]


@pytest.mark.parametrize("path", ["/staff/sync/push/", "/staff/sync/export/"])
def test_push_and_export_are_not_there_for_an_officer_or_by_get(mission_a, path):
    officer = _login(host_client(mission_a.host), make_staff(mission_a, "officer"))
    admin = _login(host_client(mission_a.host), make_staff(mission_a, "mission_admin"))
    with export_replaced() as calls:
        assert officer.post(path).status_code == 404
        assert admin.get(path).status_code == 405
    assert calls == []


def test_another_missions_sync_page_is_404(mission_a, mission_b):
    client = _login(host_client(mission_a.host), make_staff(mission_b, "mission_admin"))
    with export_replaced() as calls:
        assert client.get("/staff/sync/").status_code == 404
        assert client.post("/staff/sync/push/").status_code == 404
        assert client.post("/staff/sync/export/").status_code == 404
    assert calls == []


def test_the_staff_dashboard_links_to_the_sync_page(mission_a):
    client = _login(host_client(mission_a.host), make_staff(mission_a, "cashier"))
    assert 'href="/staff/sync/"' in client.get("/staff/").content.decode()


# --- the silence alert ---------------------------------------------------------------------------


def test_hq_admins_hear_once_per_silence(
    mission_a, mission_b, settings, django_capture_on_commit_callbacks
):
    # given a threshold of 60 minutes, alpha silent for 2 hours, beta heard from just now, and
    # two HQ admins (one reads Turkish) and an analyst
    settings.SYNC_SILENCE_ALERT_MINUTES = 60
    alpha = _contact(mission_a, minutes_ago=120)
    _contact(mission_b, minutes_ago=1)
    UserFactory(hq_role=HqRole.ADMIN, email="admin.en@example.org")
    UserFactory(hq_role=HqRole.ADMIN, email="admin.tr@example.org", preferred_language="tr")
    UserFactory(hq_role=HqRole.ANALYST)
    mail.outbox.clear()
    # when the alert runs
    with django_capture_on_commit_callbacks(execute=True):
        alerted = sync_silence_alert()
    # then each admin gets one e-mail about alpha, in their language
    assert alerted == ["alpha"]
    by_address = {message.to[0]: message for message in mail.outbox}
    assert set(by_address) == {"admin.en@example.org", "admin.tr@example.org"}
    assert "1 mission silent" in by_address["admin.en@example.org"].subject
    assert mission_a.name in by_address["admin.en@example.org"].body
    # the last contact in HQ's zone as every page writes a time (24 hours), the zone named
    contact = alpha.last_contact_at.astimezone(HQ_ZONE)
    assert f"last contact {written_short(contact)} (Europe/Istanbul)" in (
        by_address["admin.en@example.org"].body
    )
    assert f", {contact:%H:%M} (Europe/Istanbul)" in by_address["admin.tr@example.org"].body
    assert "sessiz" in by_address["admin.tr@example.org"].subject
    # when it runs again during the same silence: nothing more
    mail.outbox.clear()
    assert sync_silence_alert() == []
    assert mail.outbox == []
    # when alpha makes contact after that alert, then falls silent again: a new alert
    link = MissionLink.objects.get(mission="alpha")
    link.silent_alerted_at = timezone.now() - dt.timedelta(minutes=100)
    link.last_contact_at = timezone.now() - dt.timedelta(minutes=61)
    link.save(update_fields=["silent_alerted_at", "last_contact_at"])
    assert sync_silence_alert() == ["alpha"]


def test_a_mission_that_never_made_contact_is_silent_from_its_creation(mission_a, settings):
    settings.SYNC_SILENCE_ALERT_MINUTES = 60
    Mission.objects.filter(pk=mission_a.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=3)
    )
    MissionLink.objects.filter(mission="alpha").delete()
    assert "alpha" in sync_silence_alert()
    assert MissionLink.objects.get(mission="alpha").silent_alerted_at is not None


# --- files carried by hand: a mission's file at HQ, HQ's answer at the mission --------------------
#
# Made with the real functions, in this test database: the mission exports (`sync.export.
# file_export`), HQ applies and answers (`sync.hq.answer.push_answer`) or the HQ page does.


def _mission_file(mission: Mission, *, events: int = 3, sealed: bool = True) -> bytes:
    """The file a mission exports for the bag, after `events` more events."""
    _record_events(mission, events)
    with schema_context(mission.schema_name):
        return file_export(code=mission.code, sealed=sealed)


def _answer_file(mission: Mission, *, events: int = 3) -> bytes:
    """HQ's answer to the mission's file, as HQ builds it (`push_answer`, in public)."""
    data = _mission_file(mission, events=events)
    with schema_context("public"):
        return push_answer(data, reference_version=0, source="file")


def _upload(data: bytes, name: str = "answer.csb") -> dict[str, SimpleUploadedFile]:
    return {"file": SimpleUploadedFile(name, data, content_type="application/octet-stream")}


def _link(mission: Mission) -> tuple[int, int]:
    with schema_context(mission.schema_name):
        link = SyncLink.objects.get(pk=1)
        return link.acked_seq, link.reference_version


def _ack_signature_flipped(answer: bytes) -> bytes:
    """The answer with one byte of the acknowledgement's signature flipped."""
    assert answer[:8] == b"CSF1CSB1"  # a plain file; its first frame is the acknowledgement
    (length,) = struct.unpack(">I", answer[8:12])
    at = 12 + length + 10
    return answer[:at] + bytes([answer[at] ^ 0x01]) + answer[at + 1 :]


def _admin_client(mission: Mission, language: str = "en"):  # type: ignore[no-untyped-def]
    client = _login(host_client(mission.host), make_staff(mission, "mission_admin"))
    client.cookies["django_language"] = language
    return client


def test_the_mission_admin_imports_hqs_answer_and_the_page_says_what_it_did(mission_a):
    # given HQ's real answer to alpha's file, with a newer version of the reference data
    rounding_rule_set(currency="JPY", increment_minor=1000, mode="up", acting_user=SYSTEM)
    version = reference_publish(acting_user=SYSTEM)
    assert version is not None
    answer = _answer_file(mission_a)
    last = _last_seq(mission_a)
    assert _link(mission_a)[0] < last
    client = _admin_client(mission_a)
    page = client.get("/staff/sync/").content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert "Import HQ's answer file" in page
    # when the admin uploads it
    response = client.post("/staff/sync/import/", _upload(answer), follow=True)
    # then HQ's mark moved to the last event and the reference version was applied, and the
    # page says both
    assert response.status_code == 200
    assert _link(mission_a) == (last, version.version)
    said = text_of(response.content, "ul", class_="messages")
    assert f"HQ has applied every event up to {last:,}" in said
    assert f"Reference data version {version.version:,} from HQ was applied" in said
    assert f"Reference data v{version.version}, received" in response.content.decode()
    # when the same answer is imported again, nothing moves and nothing new is applied
    again = client.post("/staff/sync/import/", _upload(answer), follow=True)
    assert _link(mission_a) == (last, version.version)
    assert "no newer reference data" in text_of(again.content, "ul", class_="messages")


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("tampered", "not signed by HQ's key"),
        ("empty", "The file is empty"),
        ("over the limit", "larger than 100 bytes"),
        ("not a bundle file", "HQ's answer cannot be read"),
        ("NUL bytes", "HQ's answer cannot be read"),
        ("the mission's own file", "HQ's answer cannot be read"),
        ("another mission's answer", "for another mission"),
    ],
)
def test_a_bad_answer_file_is_a_400_that_says_why_and_changes_nothing(
    bad, says, mission_a, mission_b, settings
):
    # given a real answer for alpha, and what can go wrong with it
    answer = _answer_file(mission_a)
    files = {
        "tampered": lambda: _ack_signature_flipped(answer),
        "empty": lambda: b"",
        "over the limit": lambda: answer,
        "not a bundle file": lambda: b"%PDF-1.7 a scanned letter",
        "NUL bytes": lambda: b"CSF1" + b"\x00" * 64,
        "the mission's own file": lambda: _mission_file(mission_a),
        "another mission's answer": lambda: _answer_file(mission_b),
    }
    data = files[bad]()
    if bad == "over the limit":
        settings.SYNC_PUSH_MAX_BYTES = 100
    before = _link(mission_a)
    # when the admin uploads it
    response = _admin_client(mission_a).post("/staff/sync/import/", _upload(data))
    # then it is refused with a message, and the mission's link is as it was
    assert response.status_code == 400
    assert says in text_of(response.content, "ul", class_="messages")
    assert _link(mission_a) == before


def test_a_tampered_answer_is_refused_in_turkish_for_a_turkish_reader(mission_a):
    answer = _ack_signature_flipped(_answer_file(mission_a))
    client = _admin_client(mission_a, language="tr")
    page = client.get("/staff/sync/").content.decode()
    assert "Merkezin yanıt dosyasını içe aktar" in page
    response = client.post("/staff/sync/import/", _upload(answer))
    assert response.status_code == 400
    assert "hiçbir şey değiştirilmedi" in text_of(response.content, "ul", class_="messages")


def test_importing_an_answer_is_not_there_for_an_officer_an_analyst_or_another_mission(
    mission_a, mission_b
):
    answer = _answer_file(mission_a)
    before = _link(mission_a)
    officer = _login(host_client(mission_a.host), make_staff(mission_a, "officer"))
    analyst = _login(host_client(mission_a.host), UserFactory(hq_role=HqRole.ANALYST))
    elsewhere = _login(host_client(mission_a.host), make_staff(mission_b, "mission_admin"))
    assert "Import HQ's answer file" not in officer.get("/staff/sync/").content.decode()
    for client in (officer, analyst, elsewhere):
        assert client.post("/staff/sync/import/", _upload(answer)).status_code == 404
    assert _admin_client(mission_a).get("/staff/sync/import/").status_code == 405
    assert _link(mission_a) == before


# --- reference data's age: one display -----------------------------------------------------------


def test_the_initial_copy_is_shown_as_such_on_the_sync_page_and_the_dashboard(mission_a):
    # given alpha reads the copy made when its tables were (version 0, taken at deploy)
    with schema_context(mission_a.schema_name):
        SyncLink.objects.filter(pk=1).update(
            reference_version=0, reference_received_at=timezone.now() - dt.timedelta(hours=2)
        )
    client = _login(host_client(mission_a.host), make_staff(mission_a, "cashier"))
    # then both pages say it is the initial copy, with its age, and never "none received"
    for path in ("/staff/sync/", "/staff/"):
        text = text_of(client.get(path).content, "p", class_="reference-age")
        assert text.startswith("Reference data: the initial copy, taken 2 hours ago")
        assert mission_a.timezone in text
    assert "none received yet" not in client.get("/staff/sync/").content.decode()


# --- HQ: a mission's file carried by hand --------------------------------------------------------


def _hq_admin(language: str = "en"):  # type: ignore[no-untyped-def]
    return _hq_client(role=HqRole.ADMIN, language=language)


def _hq_state(mission: Mission) -> tuple[int, int]:
    link = MissionLink.objects.filter(mission=mission.code).first()
    return (link.last_seq if link else 0), RefusedBundle.objects.count()


def test_an_hq_admin_imports_a_missions_file_and_carries_hqs_answer_back(mission_a):
    # given alpha's sealed file with two bundles (events built in two rounds)
    _record_events(mission_a, 2)
    with schema_context(mission_a.schema_name):
        bundles_build(code=mission_a.code)
    data = _mission_file(mission_a, events=2)
    last = _last_seq(mission_a)
    client = _hq_admin()
    assert "Import a mission's file" in client.get("/hq/sync/alpha/").content.decode()
    # when an HQ admin imports it on alpha's page
    response = client.post("/hq/sync/alpha/import/", _upload(data, "sync-alpha.csb"))
    # then each bundle is applied, the page says so per bundle, and HQ holds every event
    assert response.status_code == 200
    html = response.content.decode()
    rows = texts_of(html, "tr", class_="sync-result-applied")
    assert len(rows) == 2
    assert all("Applied:" in row and "events new to HQ" in row for row in rows)
    assert f"up to {last:,}" in text_of(html, "section", class_="panel sync-imported")
    assert _hq_state(mission_a)[0] == last
    # when the same file comes again, both bundles are duplicates and nothing changes
    again = client.post("/hq/sync/alpha/import/", _upload(data))
    assert len(texts_of(again.content, "tr", class_="sync-result-duplicate")) == 2
    assert _hq_state(mission_a)[0] == last
    # when the admin downloads HQ's answer to that file
    token = re.search(r'name="answer_token" value="([^"]+)"', html)
    assert token is not None
    answer = client.post("/hq/sync/alpha/answer/", {"answer_token": token.group(1)})
    # then it is named for the mission and its day, and alpha's admin imports it: HQ's mark
    assert answer.status_code == 200
    expected = f"sync-answer-alpha-{mission_a.today().isoformat()}.csb"
    assert answer["Content-Disposition"] == f'attachment; filename="{expected}"'
    imported = _admin_client(mission_a).post("/staff/sync/import/", _upload(answer.content))
    assert imported.status_code == 302
    assert _link(mission_a)[0] == last


def test_a_bundle_whose_predecessor_is_missing_is_held_and_a_tampered_one_refused(mission_a):
    # given alpha's plain file of three bundles, of which HQ gets the third and a tampered first
    for _ in range(3):
        _record_events(mission_a, 1)
        with schema_context(mission_a.schema_name):
            bundles_build(code=mission_a.code)
    frames = file_unpack(_mission_file(mission_a, events=0, sealed=False))
    first = frames[0]
    flipped = bytes([first.signature[0] ^ 1]) + first.signature[1:]
    tampered = SignedBundle(body=first.body, signature=flipped)
    data = file_pack([tampered, frames[-1]])
    # when an HQ admin imports it
    response = _hq_admin().post("/hq/sync/alpha/import/", _upload(data))
    # then the page says, in words, that the first was altered and the last is held: a 400
    assert response.status_code == 400
    refused = text_of(response.content, "tr", class_="sync-result-refused")
    assert "the bundle was altered after it was signed" in refused
    held = text_of(response.content, "tr", class_="sync-result-held")
    assert "Held until the bundles before it arrive" in held
    assert "1 of 2 bundles were refused" in text_of(response.content, "ul", class_="messages")
    # and HQ logged it under no mission, since alpha's key did not sign it, with alpha's claim
    (logged,) = RefusedBundle.objects.filter(source="file")
    assert (logged.mission, logged.detail[:14]) == ("", "claims alpha b")


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("tampered", "changed after it was sealed"),
        ("empty", "The file is empty"),
        ("over the limit", "larger than 100 bytes"),
        ("not a bundle file", "not a bundle file"),
        ("another mission's file", "bundles of beta, not of alpha"),
        ("HQ's own answer", "This is HQ's answer file"),
    ],
)
def test_a_bad_mission_file_at_hq_is_a_400_that_says_why_and_changes_nothing(
    bad, says, mission_a, mission_b, settings
):
    sealed = _mission_file(mission_a)
    middle = len(sealed) // 2
    files = {
        "tampered": lambda: sealed[:middle] + bytes([sealed[middle] ^ 0x80]) + sealed[middle + 1 :],
        "empty": lambda: b"",
        "over the limit": lambda: sealed,
        "not a bundle file": lambda: b"\x00" * 300,
        "another mission's file": lambda: _mission_file(mission_b),
        "HQ's own answer": lambda: _answer_file(mission_a),
    }
    data = files[bad]()
    if bad == "over the limit":
        settings.SYNC_PUSH_MAX_BYTES = 100
    before = (_hq_state(mission_a), _hq_state(mission_b))
    response = _hq_admin().post("/hq/sync/alpha/import/", _upload(data))
    assert response.status_code == 400
    assert says in text_of(response.content, "ul", class_="messages")
    assert (_hq_state(mission_a), _hq_state(mission_b)) == before


def test_a_bad_mission_file_at_hq_says_why_in_turkish(mission_a, mission_b):
    response = _hq_admin(language="tr").post(
        "/hq/sync/alpha/import/", _upload(_mission_file(mission_b))
    )
    assert response.status_code == 400
    assert "hiçbir şey değiştirilmedi" in text_of(response.content, "ul", class_="messages")
    assert "Bir temsilciliğin dosyasını içe aktar" in response.content.decode()


def test_importing_at_hq_is_for_hq_admins_only(mission_a):
    data = _mission_file(mission_a)
    before = _hq_state(mission_a)
    analyst = _hq_client()
    mission_admin = _login(host_client("localhost"), make_staff(mission_a, "mission_admin"))
    assert "Import a mission's file" not in analyst.get("/hq/sync/alpha/").content.decode()
    for client in (analyst, mission_admin):
        assert client.post("/hq/sync/alpha/import/", _upload(data)).status_code == 404
        assert client.post("/hq/sync/alpha/answer/").status_code == 404
    assert _hq_admin().post("/hq/sync/nowhere/import/", _upload(data)).status_code == 404
    assert _hq_state(mission_a) == before


def test_hqs_answer_without_an_import_and_with_a_changed_token(mission_a):
    client = _hq_admin()
    plain = client.post("/hq/sync/alpha/answer/")
    assert plain.status_code == 200
    assert file_unpack(plain.content)[0].header["mission"] == "alpha"
    changed = client.post("/hq/sync/alpha/answer/", {"answer_token": "x" * 40})
    assert changed.status_code == 400
    assert "too old or was changed" in text_of(changed.content, "ul", class_="messages")


def test_a_refusal_hq_cannot_put_to_a_mission_shows_on_its_sync_page(db):
    # given a sealed file that did not open: HQ could not tell whose it was
    RefusedBundle.objects.create(
        received_at=timezone.now(), mission="", number=None,
        reason=BundleRefusal.BAD_SIGNATURE.value, detail="the file does not decrypt",
        sha256="0" * 64, size=641, source="file",
    )  # fmt: skip
    # when an analyst opens HQ's sync page, in English and in Turkish
    english = _hq_client().get("/hq/sync/").content.decode()
    turkish = _hq_client(language="tr").get("/hq/sync/").content.decode()
    # then it is listed, in words
    assert "Refused, sender unknown" in texts_of(english, "h2")
    assert "the file does not decrypt" in english
    assert "Reddedilenler, göndereni bilinmeyen" in turkish


def test_the_silence_e_mail_names_each_missions_own_threshold(
    mission_a, mission_b, settings, django_capture_on_commit_callbacks
):
    # given alpha's own threshold is 5 minutes and beta's the default, 60; both silent
    settings.SYNC_SILENCE_ALERT_MINUTES = 60
    Mission.objects.filter(code="alpha").update(silence_alert_minutes=5)
    _contact(mission_a, minutes_ago=10)
    _contact(mission_b, minutes_ago=90)
    UserFactory(hq_role=HqRole.ADMIN, email="admin.en@example.org")
    UserFactory(hq_role=HqRole.ADMIN, email="admin.tr@example.org", preferred_language="tr")
    mail.outbox.clear()
    # when the alert runs
    with django_capture_on_commit_callbacks(execute=True):
        assert sorted(sync_silence_alert()) == ["alpha", "beta"]
    # then the e-mail names the threshold each mission was judged by, never one for all
    body = {message.to[0]: message.body for message in mail.outbox}
    english, turkish = body["admin.en@example.org"], body["admin.tr@example.org"]
    assert "for longer than each one's own threshold:" in english
    assert "; silent after 5 min" in english
    assert "; silent after 60 min" in english
    assert "more than 60" not in english
    assert "kendi eşiğinden" in turkish
    assert "; 5 dk. sonra sessiz sayılır" in turkish
