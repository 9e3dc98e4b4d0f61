"""Document numbers from HQ's blocks (`passports.models.etd.NumberBlock`): emergency travel
documents' (`passports.services.etd`) and visas' (`visas.services.issuance`), one way for both.

HQ allocates a range to a mission, written into the mission's own schema, so that the mission
issues while its link to HQ is down; the mission takes its numbers in order, in the issuing
transaction, so there is no gap. A range may not overlap any block of the same prefix at any
mission, of any kind, nor HQ's own blocks of passport numbers that have nine characters too:
HQ's registers know a document by its number alone, and a number typed into HQ's verifier is
looked up as an ETD or visa first, then as a passport (`number_range_claim`).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SystemActor
from consulate.kernel.errors import ApplicationError, CommonError, FieldRefusals
from consulate.kernel.events import EventTopic
from consulate.kernel.history import set_acting_user
from missions.models import Mission
from missions.permissions import Action, permission_require
from sync.services import outbox_event_record

from .locks import number_blocks_lock
from .models.etd import ETD_NUMBER_WIDTH, NumberBlock
from .register.models import NumberBlock as PassportNumberBlock

__all__ = [
    "NumberSeries",
    "number_block_allocate",
    "number_range_check",
    "number_range_claim",
    "number_take",
    "numbers_left",
]

_PREFIX = re.compile(r"^[A-Z]{0,3}$")
# a document number's characters at most, the prefix's and the digits' (ICAO 9303's field)
NUMBER_CHARACTERS = 9


@dataclass(frozen=True, kw_only=True)
class NumberSeries:
    """One kind of document numbered from HQ's blocks (`passports.models.NumberBlock`): its
    blocks' model, the event of an allocation, and the errors in its app's own codes."""

    model: type[NumberBlock]
    allocated_topic: EventTopic
    invalid: enum.Enum  # a prefix or range that cannot be
    overlap: enum.Enum  # a range another block of any kind holds already
    exhausted: enum.Enum  # no number left at the mission
    exhausted_message: Any  # a lazy translation: what to do


def _block_models() -> list[type[NumberBlock]]:
    """Every kind of number block installed (ETDs', visas'): a number is one document's,
    whatever its kind, since HQ's register of issued documents knows it by its number alone."""
    return [
        model
        for model in apps.get_models()
        if issubclass(model, NumberBlock) and not model._meta.abstract
    ]


def number_block_allocate(
    *,
    series: NumberSeries,
    mission_code: str,
    first: int,
    last: int,
    acting_user: User | SystemActor,
    prefix: str,
) -> NumberBlock:
    """HQ allocates the numbers `prefix` + `first`..`last` (zero-padded to nine characters) of
    `series` to a mission, writing the block into the mission's own schema so that it issues
    offline. A range that overlaps a block of the same prefix at any mission, of any kind of
    document, or HQ's passport numbers is refused: a document number is unique across the
    system (`number_range_claim`). Run at HQ (an HQ admin); rare, so the overlap check reads
    every mission's blocks, one allocation at a time system-wide."""
    mission = Mission.objects.filter(code=str(mission_code)[:30]).first()
    if mission is None:
        raise ApplicationError(CommonError.NOT_FOUND, _("Not found."))
    permission_require(user=acting_user, mission=mission, action=Action.MISSION_MANAGE)
    prefix = str(prefix).strip().upper()
    width = ETD_NUMBER_WIDTH - len(prefix)
    number_range_check(
        prefix=prefix, width=width, first=first, last=last, prefix_required=True, first_least=1,
        invalid=series.invalid,
    )  # fmt: skip
    with transaction.atomic():
        number_range_claim(
            prefix=prefix, width=width, first=first, last=last, overlap=series.overlap
        )
        with schema_context(mission.schema_name):
            block = series.model(
                prefix=prefix, first=first, last=last, next_number=first,
                allocated_by_id=acting_user.pk,
            )  # fmt: skip
            set_acting_user(block, acting_user)
            block.save()
            outbox_event_record(
                topic=series.allocated_topic,
                aggregate_id=block.pk,
                payload={"prefix": prefix, "first": first, "last": last},
                acting_user=acting_user,
            )
    return block


def number_range_check(
    *,
    prefix: str,
    width: int,
    first: int,
    last: int,
    prefix_required: bool,
    first_least: int,
    invalid: enum.Enum,
) -> None:
    """The numbers `prefix` (upper case) + `first`..`last`, zero-padded to `width` digits, as a
    block can hold them, or `invalid` (the caller's app's code) is raised naming every field
    that cannot be at once: the prefix (up to three letters A-Z; at least one when
    `prefix_required`), the width (1 digit or more, the prefix and the digits together at most
    nine characters), the first number (`first_least` or more, as the block's table holds it)
    and the last (within the digits, not below the first). The digits are judged only with a
    prefix that can be, since the prefix sets how many there are."""
    refusals = FieldRefusals()

    def refuse(field: str, message: Any) -> None:
        refusals.add(ApplicationError(invalid, message, field=field))

    prefix_fits = bool(_PREFIX.fullmatch(prefix)) and (bool(prefix) or not prefix_required)
    width_fits = prefix_fits and 1 <= width <= NUMBER_CHARACTERS - len(prefix)
    if not prefix_fits:
        refuse(
            "prefix",
            _("The prefix is one to three letters, A to Z.")
            if prefix_required
            else _("The prefix is up to three letters, A to Z, or none."),
        )
    elif not width_fits:
        refuse(
            "digits",
            _("A document number has at most 9 characters: the prefix and the digits together."),
        )
    if first < first_least:
        refuse("first", _("The first number is %(least)s or more.") % {"least": first_least})
    if width_fits and last >= 10**width:
        refuse(
            "last",
            ngettext(
                "The last number has at most %(digits)s digit.",
                "The last number has at most %(digits)s digits.",
                width,
            )
            % {"digits": width},
        )
    elif last < first:
        refuse("last", _("The last number is the first one or a later one."))
    refusals.raise_any()


def number_range_claim(
    *, prefix: str, width: int, first: int, last: int, overlap: enum.Enum
) -> None:
    """In the caller's transaction, which writes the block next: the numbers `prefix` +
    `first`..`last`, zero-padded to `width` digits, are for it alone, or `overlap` (the
    caller's app's code) is raised naming who holds some of them: a mission's ETD or visa
    block, or HQ's passport blocks. The allocation is the only one in the system until the
    transaction ends (`locks.number_blocks_lock`). Reads every mission's blocks (rare)."""
    number_blocks_lock()
    reason = _numbers_taken(prefix=prefix, width=width, first=first, last=last)
    if reason is not None:
        raise ApplicationError(overlap, reason, field="first")


def _numbers_taken(*, prefix: str, width: int, first: int, last: int) -> str | None:
    """Who holds some of these numbers, in words, or None. Only numbers of one prefix and one
    width can be the same text; the missions' numbers all have nine characters."""
    if PassportNumberBlock.objects.filter(
        prefix=prefix, digits=width, first__lte=last, last__gte=first
    ).exists():
        return str(_("These numbers overlap a block of HQ's passport numbers."))
    if len(prefix) + width != ETD_NUMBER_WIDTH:
        return None
    models = _block_models()
    for other in Mission.objects.exclude(schema_name="public").order_by("pk"):
        with schema_context(other.schema_name):
            clash = any(
                model._default_manager.filter(prefix=prefix, first__lte=last, last__gte=first)
                .order_by()
                .exists()
                for model in models
            )
        if clash:
            return _("These numbers overlap a block already allocated to %(mission)s.") % {
                "mission": other.name  # in the reader's language
            }
    return None


def number_take(*, series: NumberSeries, acting_user: User) -> tuple[str, NumberBlock]:
    """The next number of `series` at this mission, in the caller's transaction, and its block:
    the blocks with numbers left are locked (in id order, as every issue takes them), so two
    issuing at once take consecutive numbers, and a rolled-back issue gives its number back."""
    blocks = list(
        series.model._default_manager.select_for_update()
        .filter(next_number__lte=F("last"))
        .order_by("id")
    )
    if not blocks:
        raise ApplicationError(series.exhausted, series.exhausted_message)
    block = blocks[0]
    number = block.number_text(block.next_number)
    block.next_number += 1
    set_acting_user(block, acting_user)
    block.save(update_fields=["next_number", "updated_at"])
    return number, block


def numbers_left(*, series: NumberSeries) -> int:
    """How many numbers of `series` the mission's blocks still hold."""
    return sum(block.remaining for block in series.model._default_manager.all())


_NUMBER = re.compile(r"^([A-Z]{1,3})([0-9]{1,8})$")


def number_allocated_to(*, mission_code: str, number: str) -> bool:
    """Whether `number` lies in a block (of any kind) HQ allocated to the mission: what HQ's
    verifier asks of a sealed number its register does not hold yet. A few queries in that
    mission's schema; False for a mission HQ's database does not hold."""
    match = _NUMBER.match(number)
    mission = Mission.objects.filter(code=mission_code).exclude(schema_name="public").first()
    if match is None or mission is None:
        return False
    prefix, value = match.group(1), int(match.group(2))
    with schema_context(mission.schema_name):
        return any(
            model._default_manager.filter(prefix=prefix, first__lte=value, last__gte=value)
            .order_by()
            .exists()
            for model in _block_models()
        )
