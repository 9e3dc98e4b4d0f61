"""sync's commands, as an operator types them: files for the bag both ways, a push now, keys
by hand. Each prints what it did; a bad file or name is a plain error, never a traceback."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django_tenants.utils import schema_context

from consulate.kernel.actors import SYSTEM
from consulate.kernel.events import EventTopic
from sync.bundle import file_unpack
from sync.hq.models import CentralEvent, MissionKey, RefusedBundle
from sync.models import OutboxEvent, SigningKey, SyncLink
from sync.services import outbox_event_record


class BagTopic(EventTopic):
    CARRIED = "tests.bag.carried"


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def record_at(mission, count: int) -> int:  # type: ignore[no-untyped-def]
    with schema_context(mission.schema_name), transaction.atomic():
        for n in range(count):
            outbox_event_record(topic=BagTopic.CARRIED, aggregate_id=n, payload={},
                                acting_user=SYSTEM)  # fmt: skip
        return OutboxEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def test_a_file_goes_through_the_bag_and_its_answer_comes_back(mission_a, tmp_path: Path):
    # given mission A with events HQ has not seen
    last = record_at(mission_a, 20)
    bag, answer = tmp_path / "alpha.csf", tmp_path / "answer.csf"
    # when the mission exports them
    said = run("sync_export", "alpha", "--out", str(bag))
    # then it says how many bundles and events, which range, sealed for whom, how big
    size = bag.stat().st_size
    assert said.strip() == (
        f"alpha: bundle 1, {last:,} events #1–#{last:,}, sealed for HQ's key 1: "
        f"{size:,} bytes written to {bag}"
    )
    # when HQ imports the file and writes its answer
    said = run("sync_import", str(bag), "--answer-out", str(answer))
    # then it names each bundle and what happened to it
    assert said.splitlines() == [
        f"{bag}: 1 frame(s)",
        f"  alpha bundle 1 (#1–#{last:,}): applied {last:,} events",
        f"alpha: HQ has applied every event to #{last:,}",
        f"HQ's answer: {answer.stat().st_size:,} bytes written to {answer}",
    ]
    assert CentralEvent.objects.filter(mission="alpha").count() == last
    # and importing the same file again changes nothing and says so
    again = run("sync_import", str(bag))
    assert f"  alpha bundle 1 (#1–#{last:,}): duplicate, already applied (nothing changed)" in again
    assert CentralEvent.objects.filter(mission="alpha").count() == last
    # when the mission imports HQ's answer
    said = run("sync_import", str(answer), "--mission", "alpha")
    # then its acknowledged mark moved, and it says so
    assert said.splitlines() == [
        f"alpha: HQ has applied every event to #{last:,} (bundled to #{last:,})",
        "  reference data: unchanged (version 0)",
    ]
    with schema_context(mission_a.schema_name):
        assert SyncLink.objects.get(pk=1).acked_seq == last
    # and a second export has nothing left to carry
    assert "nothing to export" in run("sync_export", "alpha", "--out", str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_hq_writes_an_answer_for_the_bag_on_its_own(mission_a, tmp_path: Path):
    # given HQ has applied mission A's file
    last = record_at(mission_a, 3)
    bag = tmp_path / "alpha.csf"
    run("sync_export", "alpha", "--out", str(bag), "--plain")
    run("sync_import", str(bag))
    # when HQ writes its answer for the returning bag
    said = run("sync_export", "--answer", "alpha", "--out", str(tmp_path / "ans"))
    # then it says what it holds, and the mission accepts it
    size = (tmp_path / "ans").stat().st_size
    assert said.strip() == (
        f"alpha: HQ's answer (applied to #{last:,}, no reference data newer than version 0): "
        f"{size:,} bytes written to {tmp_path / 'ans'}"
    )
    assert "applied every event" in run("sync_import", str(tmp_path / "ans"), "--mission", "alpha")


def test_a_tampered_file_is_refused_whole_and_said_so(mission_a, tmp_path: Path):
    # given a sealed file with one byte flipped in transit
    record_at(mission_a, 5)
    bag = tmp_path / "alpha.csf"
    run("sync_export", "alpha", "--out", str(bag))
    data = bytearray(bag.read_bytes())
    data[len(data) // 2] ^= 0x01
    bag.write_bytes(bytes(data))
    out = StringIO()
    # when HQ imports it, then it is refused, logged, and the command fails plainly
    with pytest.raises(CommandError, match=r"1 of 1 frame\(s\) refused"):
        call_command("sync_import", str(bag), stdout=out)
    assert re.search(r"frame 1: REFUSED \(sync\.bundle\.\w+\)", out.getvalue())
    assert RefusedBundle.objects.filter(source="file").count() == 1
    assert not CentralEvent.objects.filter(mission="alpha").exists()


def test_an_answer_for_another_mission_is_refused_at_import(mission_a, mission_b, tmp_path):
    # given HQ's answer for mission B
    record_at(mission_b, 1)
    run("sync_export", "beta", "--out", str(tmp_path / "b"), "--plain")
    run("sync_import", str(tmp_path / "b"), "--answer-out", str(tmp_path / "ans"))
    # when it is imported at mission A, then it is refused with the reason
    with pytest.raises(CommandError, match="alpha: HQ's answer is for another mission"):
        run("sync_import", str(tmp_path / "ans"), "--mission", "alpha")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("sync_import", "/no/such/file"), "cannot read /no/such/file: No such file or directory"),
        (("sync_export", "nowhere", "--out", "out.csf"), "no mission with the code 'nowhere'"),
        (("sync_export", "alpha", "--out", "/no/such/dir/f"), "cannot write /no/such/dir/f"),
        (("sync_export", "--out", "out.csf"), "name the mission"),
        (("sync_export", "--answer", "nowhere", "--out", "out.csf"), "HQ knows no mission"),
        (("sync_push",), "name one mission or give --all"),
        (("sync_key", "register", "alpha", "9", "zz"), "not hexadecimal"),
        (("sync_key", "register", "alpha", "9", "ab" * 31), "32 bytes, not 31"),
        (("sync_key", "revoke", "alpha", "99", "--reason", "x"), "HQ holds no key 99"),
    ],
)
def test_bad_arguments_are_plain_errors(mission_a, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        run(*args)


def test_a_file_that_is_no_bundle_file_is_refused(mission_a, tmp_path: Path):
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x00\x01 not a bundle file")
    out = StringIO()
    with pytest.raises(CommandError, match="refused"):
        call_command("sync_import", str(junk), stdout=out)
    assert "frame 1: REFUSED (sync.bundle.malformed)" in out.getvalue()
    with pytest.raises(CommandError, match="alpha: HQ's answer cannot be read"):
        run("sync_import", str(junk), "--mission", "alpha")


def test_push_now_says_what_it_sent_or_why_not(mission_a, settings):
    # given events at mission A
    last = record_at(mission_a, 4)
    # when an operator pushes now, then it says which bundles went and HQ's mark
    assert run("sync_push", "alpha").strip() == (
        f"alpha: sent bundle 1; HQ has applied every event to #{last:,}"
    )
    # when HQ cannot be reached, then it says why and when beat tries again, and fails
    settings.SYNC_HQ_URL, settings.SYNC_PUSH_TIMEOUT = "http://127.0.0.1:9", 2
    out = StringIO()
    with pytest.raises(CommandError, match=r"1 of 1 push\(es\) failed"):
        call_command("sync_push", "alpha", stdout=out)
    assert re.match(
        r"alpha: failed: sync.unreachable: HQ cannot be reached: .+; beat tries again \d{4}-",
        out.getvalue(),
    )


def test_keys_by_hand(mission_a):
    # given mission A's first key
    with schema_context(mission_a.schema_name):
        first = SigningKey.objects.get(is_active=True)
    # when an operator rotates it, then the new key is active and HQ learns it by bundle
    said = run("sync_key", "rotate", "alpha")
    with schema_context(mission_a.schema_name):
        new = SigningKey.objects.get(is_active=True)
    assert said.strip() == (
        f"alpha: key {new.key_id} is active ({bytes(new.public_key).hex()}); HQ learns it from "
        f"the next push, in a bundle signed by key {first.key_id}."
    )
    # when HQ revokes the old key, then it says so, and a second time changes nothing
    said = run("sync_key", "revoke", "alpha", str(first.key_id), "--reason", "laptop stolen")
    assert said.startswith(f"alpha key {first.key_id} revoked: HQ refuses bundles it signs.")
    assert MissionKey.objects.get(mission="alpha", key_id=first.key_id).revoked_reason == (
        "laptop stolen"
    )
    assert "already revoked" in run("sync_key", "revoke", "alpha", str(first.key_id),
                                    "--reason", "again")  # fmt: skip
    # when HQ registers the new key by hand, then it is trusted; another key under that id not
    hex_key = bytes(new.public_key).hex()
    said = run("sync_key", "register", "alpha", str(new.key_id), hex_key)
    assert said.strip() == f"HQ trusts alpha key {new.key_id} ({hex_key})."
    with pytest.raises(CommandError, match="registered with another public key"):
        run("sync_key", "register", "alpha", str(new.key_id), "11" * 32)
    # and show lists both sides
    shown = run("sync_key", "show", "alpha")
    assert f"alpha key {new.key_id}: {hex_key} (active)" in shown
    assert f"HQ holds alpha key {first.key_id}: revoked" in shown
    assert f"HQ holds alpha key {new.key_id}: trusted" in shown


def test_an_export_file_holds_only_frames(mission_a, tmp_path: Path):
    record_at(mission_a, 2)
    run("sync_export", "alpha", "--out", str(tmp_path / "p"), "--plain")
    frames = file_unpack((tmp_path / "p").read_bytes())
    assert [f.header["kind"] for f in frames] == ["events"]


@pytest.mark.parametrize(
    "args",
    [
        ("sync_push", "alpha"),
        ("sync_export", "alpha", "--out", "x.csb"),
        ("sync_reconcile", "alpha"),
    ],
)
def test_a_mission_moved_to_its_own_node_is_worked_on_there(mission_a, args):
    # HQ's copy of a moved mission is frozen: a push from it would clash with the node's chain
    mission_a.node_url = "https://alpha-node.example"
    mission_a.save(update_fields=["node_url"])
    with pytest.raises(CommandError, match="served by its own node at https://alpha-node"):
        call_command(*args, stdout=StringIO())


def test_revoking_a_key_names_the_later_keys_revoked_with_it(mission_a):
    # given HQ learned alpha's key 2 after key 1 (announced with key 1)
    run("sync_key", "register", "alpha", "2", "22" * 32)
    # when key 1 is revoked, then key 2 goes too and the command says so
    said = run("sync_key", "revoke", "alpha", "1", "--reason", "laptop stolen")
    assert "keys HQ learned after it revoked too" in said
    assert said.rstrip().endswith(": 2.")
    assert MissionKey.objects.get(mission="alpha", key_id=2).revoked_at is not None


def test_an_answer_file_carrying_accounts_is_refused_at_import(mission_a, tmp_path: Path):
    from unittest import mock

    from sync import down
    from sync.bundle import file_pack
    from sync.hq.answer import answer_build

    # given HQ's authentic answer for alpha with its accounts added (a down frame HQ signed)
    with schema_context("public"):
        answer = answer_build([], mission="alpha", reference_version=0)
        accounts = down.down_frames(mission="alpha", reported={})
    path = tmp_path / "answer.csf"
    path.write_bytes(file_pack([*file_unpack(answer), *accounts]))
    # when it is imported at the mission as a file, then it is refused whole, no set applied
    with (
        mock.patch("sync.export.down_apply") as applied,
        pytest.raises(CommandError, match="never carries accounts"),
    ):
        run("sync_import", str(path), "--mission", "alpha")
    applied.assert_not_called()
