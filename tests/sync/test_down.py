"""Down sets travel from HQ to a node only when the node's copy differs, signed by HQ."""

from unittest import mock

import pytest
from django_tenants.utils import schema_context

from sync import down
from sync.bundle import SignedBundle, bundle_sign, signing_key_generate
from sync.registry import DownSet, down_set_register


@pytest.fixture
def probe_set():
    """A down set of the tests' own, recording what the node was given."""
    applied: list[tuple[str, dict]] = []
    content = {"rows": [1, 2, 3]}
    down_set_register(
        name="tests.probe", build=lambda code: dict(content),
        apply=lambda code, value: applied.append((code, value)),
    )  # fmt: skip
    yield content, applied
    from sync import registry

    registry._down_sets.pop("tests.probe", None)


def probe_frame_for_alpha() -> SignedBundle:
    """The probe set as HQ signs it for alpha (built at HQ, in the public schema)."""
    with schema_context("public"):
        frames = down.down_frames(mission="alpha", reported={})
    return next(frame for frame in frames if frame.header["name"] == "tests.probe")


def test_hq_sends_a_set_only_when_the_nodes_copy_differs(db, probe_set):
    frames = down.down_frames(mission="alpha", reported={})
    assert {frame.header["name"] for frame in frames} >= {"tests.probe", "missions.accounts"}
    with schema_context("alpha"):
        same = down.down_hashes_local(code="alpha")  # the node's copy, here HQ's own rows
    assert down.down_frames(mission="alpha", reported=same) == []


def test_a_node_applies_a_set_hq_signed_for_it(in_mission_a, probe_set):
    content, applied = probe_set
    frame = probe_frame_for_alpha()
    assert down.down_apply(frame, code="alpha")
    assert applied == [("alpha", content)]


def test_a_tampered_foreign_or_misdirected_set_changes_nothing(in_mission_a, probe_set):
    _, applied = probe_set
    frame = probe_frame_for_alpha()
    tampered = SignedBundle(frame.body.replace(b"[1,2,3]", b"[1,2,4]"), frame.signature)
    assert not down.down_apply(tampered, code="alpha")
    assert not down.down_apply(frame, code="beta")  # HQ signed it for alpha
    seed, _ = signing_key_generate()
    forged = bundle_sign(frame.content, seed)  # the same content, another key
    assert not down.down_apply(forged, code="alpha")
    assert applied == []


@pytest.mark.parametrize(
    "text", ["", "not json", "[1]", '{"a": 1}', "{" * 5000, '{"a": "' + "x" * 5000 + '"}']
)
def test_an_unreadable_hashes_header_means_no_set(text):
    assert down.down_hashes_parse(text) is None


def _sent_hashes(settings, hq_url: str) -> list:
    """Push once with HQ at `hq_url` ("" = this database); the down hashes HQ was sent."""
    from consulate.kernel.errors import ApplicationError
    from sync import export, transport
    from sync.error_codes import SyncError

    settings.SYNC_HQ_URL = hq_url
    sent = []

    def unreachable(url, body, *, reference_version, down_hashes):
        sent.append(down_hashes)
        raise ApplicationError(SyncError.UNREACHABLE, "down")

    with mock.patch.object(transport, "_over_http", unreachable):
        export.push(code="alpha")
    return sent


def test_a_nodes_push_reports_its_copies(in_mission_a, probe_set, settings):
    (hashes,) = _sent_hashes(settings, "https://hq.example")
    assert set(hashes) >= {"tests.probe", "missions.accounts"}


def test_a_push_inside_hqs_database_carries_no_set(in_mission_a, probe_set, settings):
    with mock.patch("sync.export.down_hashes_local") as hashes:
        assert _sent_hashes(settings, "") == []  # answered in process, not over HTTP
    hashes.assert_not_called()


def test_the_set_registry_keeps_one_per_name(probe_set):
    from sync.registry import down_sets

    assert [s.name for s in down_sets()].count("tests.probe") == 1
    assert all(isinstance(s, DownSet) for s in down_sets())


@pytest.mark.parametrize("key_id", ['"x"', "1.5", "true", "[1]", str(2**70)])
def test_a_set_whose_key_id_is_not_a_number_is_refused_not_a_crash(in_mission_a, key_id):
    # a down frame in HQ's answer, its key_id changed: refused, never a 500
    frame = SignedBundle(b'{"header":{"key_id":' + key_id.encode() + b"}}", b"\0" * 64)
    assert not down.down_apply(frame, code="alpha")


def test_a_reconciliation_answer_whose_key_id_is_not_a_number_is_refused(in_mission_a):
    from sync import reconcile
    from sync.bundle import file_pack

    request = SignedBundle(b'{"header":{"kind":"digests"}}', b"\0" * 64)
    answer = SignedBundle(
        b'{"header":{"in_reply_to":"' + request.hash.encode() + b'","key_id":"x","kind":"x"}}',
        b"\0" * 64,
    )
    with pytest.raises(reconcile.ReconcileError, match="not signed by HQ"):
        reconcile._ask(request, send=lambda body: file_pack([answer]), answer_kind="x")


# --- Who gets a down set: a node with a fresh hello (finding 2) ---------------------------------


def _hello_result(frame: SignedBundle) -> dict:
    from sync.hq import apply

    with schema_context("public"):
        return apply.bundle_receive(frame, source="http")


def _hello(**header) -> SignedBundle:  # type: ignore[no-untyped-def]
    """Alpha's hello, signed with its key as a node signs it (header fields changed if asked)."""
    from sync import keys

    with schema_context("alpha"):
        frame = down.hello_sign(code="alpha")
        if header:
            active = keys.signing_key_active(code="alpha")
            frame = bundle_sign({"header": {**frame.header, **header}}, active.private_seed)
    return frame


@pytest.fixture
def alpha_on_a_node(db):  # type: ignore[no-untyped-def]
    from django_tenants.utils import get_tenant_model

    from sync.hq.models import MissionLink

    with schema_context("public"):
        MissionLink.objects.get_or_create(mission="alpha")
        get_tenant_model().objects.filter(code="alpha").update(node_url="https://alpha.node.test")


def test_a_fresh_hello_from_a_node_brings_its_sets_once(alpha_on_a_node, probe_set):
    frame = _hello()
    first = _hello_result(frame)
    assert first["hello_accepted"]
    assert not first["refused"]
    with schema_context("public"):
        names = {f.header["name"] for f in down.down_frames_for([first], {})}
        assert names >= {"tests.probe", "missions.accounts"}
        assert down.down_frames_for([first], None) == []  # not over HTTPS: no set
    # the same hello replayed (captured, or from a file) is no proof: no set
    again = _hello_result(frame)
    assert not again["hello_accepted"]
    assert not again["refused"]
    with schema_context("public"):
        assert down.down_frames_for([again], {}) == []


def test_a_replayed_authentic_bundle_without_a_fresh_hello_brings_no_set(db):
    # an authentic events frame replayed (an old sealed file from a lost USB stick): HQ answers
    # it as a duplicate of a mission it trusts, but sends no set
    from django_tenants.utils import get_tenant_model

    from sync.export import bundles_build
    from sync.hq import apply

    with schema_context("alpha"):
        sent = bundles_build(code="alpha")[0]
    with schema_context("public"):
        get_tenant_model().objects.filter(code="alpha").update(node_url="https://alpha.node.test")
        apply.bundle_receive(SignedBundle.from_bytes(bytes(sent.data)))
        replayed = apply.bundle_receive(SignedBundle.from_bytes(bytes(sent.data)))
        assert replayed["mission"] == "alpha"
        assert not replayed["refused"]
        assert down.down_frames_for([replayed], {}) == []
        # and a result that only claims a hello for another mission brings nothing either
        forged = {"mission": "alpha", "kind": "hello", "hello_accepted": "yes", "refused": None}
        assert down.down_frames_for([forged], {}) == []


@pytest.mark.parametrize("minutes", [-11, 11])
def test_a_hello_off_hqs_clock_brings_no_set(alpha_on_a_node, minutes):
    from datetime import timedelta

    from django.utils import timezone

    when = (timezone.now() + timedelta(minutes=minutes)).strftime(down.TIME_FORMAT)
    result = _hello_result(_hello(created_at=when))
    assert not result["hello_accepted"]
    assert not result["refused"]
    with schema_context("public"):
        assert down.down_frames_for([result], {}) == []


def test_a_mission_served_from_hqs_database_gets_no_set_even_with_a_hello(
    alpha_on_a_node, settings
):
    from django_tenants.utils import get_tenant_model

    result = _hello_result(_hello())
    assert result["hello_accepted"]
    with schema_context("public"):
        get_tenant_model().objects.filter(code="alpha").update(node_url="")
        assert down.down_frames_for([result], {}) == []


def test_an_older_hello_after_a_newer_one_is_refused(alpha_on_a_node):
    from datetime import timedelta

    from django.utils import timezone

    newer = _hello()
    older = _hello(created_at=(timezone.now() - timedelta(seconds=30)).strftime(down.TIME_FORMAT))
    assert _hello_result(newer)["hello_accepted"]
    assert not _hello_result(older)["hello_accepted"]


def test_a_nodes_push_opens_with_a_fresh_hello(in_mission_a, probe_set, settings):
    from sync import export, transport
    from sync.bundle import file_unpack

    settings.SYNC_HQ_URL = "https://hq.example"
    bodies = []

    def unreachable(url, body, *, reference_version, down_hashes):
        bodies.append(body)
        raise ApplicationError(SyncError.UNREACHABLE, "down")

    from consulate.kernel.errors import ApplicationError
    from sync.error_codes import SyncError

    with mock.patch.object(transport, "_over_http", unreachable):
        export.push(code="alpha")
    first = file_unpack(bodies[0])[0]
    assert first.header["kind"] == "hello"
    assert first.header["mission"] == "alpha"
