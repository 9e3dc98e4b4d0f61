"""Apply a file from the diplomatic bag: bundles at HQ, HQ's answer at a mission."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context, tenant_context

from consulate.kernel.errors import ApplicationError

from ... import keys
from ...bundle import BundleError, SignedBundle, file_unpack
from ._sync_cli import file_read, file_write, mission_get, seq_range


def _label(frame: SignedBundle | None, index: int) -> str:
    try:
        header = frame.header if frame is not None else None
        if header and header.get("kind") == "events":
            return (
                f"{header['mission']} bundle {header['number']} "
                f"({seq_range(int(header['first_seq']), int(header['last_seq']))})"
            )
        if header:
            return f"{header.get('mission', '?')} {header.get('kind')} frame"
    except (BundleError, KeyError, TypeError, ValueError):
        pass
    return f"frame {index}"


def _outcome(result: dict[str, Any]) -> str:
    if result.get("refused"):
        return f"REFUSED ({result['refused']}): {result.get('detail') or ''}".rstrip(": ")
    if result.get("held"):
        return "held until the bundles before it arrive"
    if result.get("applied"):
        return f"applied {int(result['applied']):,} events"
    return "duplicate, already applied (nothing changed)"


class Command(BaseCommand):
    help = (
        "At HQ: apply a file of mission bundles (sealed or plain) and say, per bundle, applied, "
        "duplicate, held or refused; --answer-out writes HQ's answer for the bag. At a mission "
        "(--mission CODE): apply HQ's answer file (acknowledgement and reference data)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--mission", help="apply HQ's answer at this mission")
        parser.add_argument("--answer-out", help="at HQ: also write HQ's answer to this file")

    def handle(self, *args: Any, **options: Any) -> None:
        data = file_read(options["file"])
        if options["mission"]:
            if options["answer_out"]:
                raise CommandError("--answer-out is for HQ; a mission applies an answer")
            self._at_mission(options["mission"], data)
        else:
            self._at_hq(data, options["file"], options["answer_out"])

    def _at_hq(self, data: bytes, name: str, answer_out: str | None) -> None:
        from ...hq.answer import answer_build
        from ...hq.apply import frames_receive
        from ...hq.models import MissionLink

        with schema_context("public"):
            try:  # only to name each frame in the report; frames_receive decides
                frames: list[SignedBundle | None] = list(
                    file_unpack(data, private_key_for=keys.hq_encryption_private_key)
                )
            except BundleError:
                frames = []
            results = frames_receive(data, source="file")
            if len(frames) != len(results):
                frames = [None] * len(results)
            self.stdout.write(f"{name}: {len(results)} frame(s)")
            for index, (frame, result) in enumerate(zip(frames, results, strict=True), start=1):
                self.stdout.write(f"  {_label(frame, index)}: {_outcome(result)}")
            missions = list(dict.fromkeys(r["mission"] for r in results if r.get("mission")))
            for code in missions:
                link = MissionLink.objects.filter(mission=code).first()
                mine = [r for r in results if r.get("mission") == code]
                want = mine[-1].get("want") if mine else []
                self.stdout.write(
                    f"{code}: HQ has applied every event to #{(link.last_seq if link else 0):,}"
                    + (f"; wants again {want}" if want else "")
                )
            if answer_out:
                if not missions:
                    raise CommandError("no bundle in the file could be read: no answer to write")
                version = MissionLink.objects.filter(mission=missions[0]).values_list(
                    "reference_version_acked", flat=True
                )
                answer = answer_build(
                    results, mission=missions[0], reference_version=version.first() or 0
                )
                file_write(answer_out, answer)
                self.stdout.write(f"HQ's answer: {len(answer):,} bytes written to {answer_out}")
        refused = sum(1 for r in results if r.get("refused"))
        if refused:
            raise CommandError(f"{refused} of {len(results)} frame(s) refused (logged at HQ)")

    def _at_mission(self, code: str, data: bytes) -> None:
        from ...export import answer_apply
        from ...models import SyncLink

        mission = mission_get(code)
        with tenant_context(mission):
            try:
                outcome = answer_apply(data, code=mission.code, from_file=True)
            except ApplicationError as error:
                raise CommandError(f"{mission.code}: {error.message}") from error
            link = SyncLink.objects.get(pk=1)
        self.stdout.write(
            f"{mission.code}: HQ has applied every event to #{outcome['acked_seq']:,} "
            f"(bundled to #{link.last_bundled_seq:,})"
        )
        if outcome["want"]:
            self.stdout.write(f"  HQ wants again: {outcome['want']} (sent with the next push)")
        for refusal in outcome["refused"]:
            self.stdout.write(f"  HQ refused: {refusal.get('reason')}: {refusal.get('detail')}")
        self.stdout.write(
            f"  reference data: {'updated' if outcome['reference_applied'] else 'unchanged'} "
            f"(version {link.reference_version})"
        )
