"""The name field: primary and secondary identifiers, and their truncation (Doc 9303 Part 4
section 4.2.2.1 for TD3, Part 7 sections 4.2.2.1 and 7.2.2.1 for MRV-A and MRV-B).

Widths: 39 positions in a TD3 and an MRV-A, 31 in an MRV-B. A name that fits is written whole
and padded with fillers. One that does not is truncated by the normative rule, which this module
applies literally and always the same way:

- the secondary identifier loses characters from its end;
- when the primary identifier leaves fewer than three positions, it loses characters from its
  end until "<<" and the first letter of the secondary identifier fit;
- a name with no secondary identifier loses characters from its end;
- in every case the field ends with a letter, the sign readers take for "may be truncated". When
  a cut lands on the filler between two components, the component before it gives up its last
  letter so that the next one's initial takes the last position.

ICAO's examples of other truncations (initials, a fixed length per component) are options the
issuing State may choose; this module does not, so its output differs from those examples while
following the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from passports.mrz.checkdigit import FILLER
from passports.mrz.errors import MrzError, MrzErrorCode, field_error
from passports.mrz.transliteration import mrz_transliterate

SEPARATOR = FILLER * 2


@dataclass(frozen=True, kw_only=True)
class MrzName:
    """A name field as read back: components joined by spaces, and whether it may have been
    truncated (its last position holds a letter)."""

    primary: str
    secondary: str
    possibly_truncated: bool


def _components(*, text: str, field: str) -> list[str]:
    try:
        transliterated = mrz_transliterate(text)
    except MrzError as error:
        raise field_error(error.code, field, error.message, **error.details) from error
    components = [component for component in transliterated.split(FILLER) if component]
    for component in components:
        digit = next((character for character in component if character.isdigit()), None)
        if digit is not None:
            raise field_error(
                MrzErrorCode.INVALID_CHARACTERS,
                field,
                _("a name holds letters only, not “%(character)s”.") % {"character": digit},
                character=digit,
            )
    return components


def _fit(components: list[str], width: int) -> str:
    """`components` joined by single fillers, cut to `width` so that it ends with a letter."""
    joined = FILLER.join(components)
    if len(joined) <= width:
        return joined
    cut = joined[:width]
    if cut[-1] != FILLER:
        return cut
    # The cut fell on the filler after a whole component: take one letter off the last
    # component that can spare one and let the next component's initial end the field.
    kept = cut[:-1].split(FILLER)
    following = components[len(kept)]
    for index in range(len(kept) - 1, -1, -1):
        if len(kept[index]) > 1:
            kept[index] = kept[index][:-1]
            return FILLER.join([*kept, following[0]])
    # Every kept component is one letter long: nothing to shorten, the field ends on a filler.
    return cut[:-1]


def mrz_name_field(*, surname: str, given_names: str, width: int) -> str:
    """The name field, exactly `width` characters: surname (primary identifier) and given names
    (secondary identifier, may be empty) transliterated, separated by "<<", truncated as the
    module docstring says. Raises `MrzError` naming "surname" or "given_names"."""
    primary = _components(text=surname, field="surname")
    secondary = _components(text=given_names, field="given_names")
    if not primary:
        raise field_error(
            MrzErrorCode.REQUIRED,
            "surname",
            _("required; a person with a single name has it here."),
        )
    primary_text = FILLER.join(primary)
    if not secondary:
        field = _fit(primary, width)
    else:
        whole = primary_text + SEPARATOR + FILLER.join(secondary)
        if len(whole) <= width:
            field = whole
        elif len(primary_text) + len(SEPARATOR) + 1 <= width:
            room = width - len(primary_text) - len(SEPARATOR)
            field = primary_text + SEPARATOR + _fit(secondary, room)
        else:
            field = _fit(primary, width - len(SEPARATOR) - 1) + SEPARATOR + secondary[0][0]
    return field.ljust(width, FILLER)


def mrz_name_read(field: str) -> MrzName:
    """The identifiers in a name field, components separated by spaces."""
    primary, _separator, secondary = field.partition(SEPARATOR)
    return MrzName(
        primary=" ".join(part for part in primary.split(FILLER) if part),
        secondary=" ".join(part for part in secondary.split(FILLER) if part),
        possibly_truncated=bool(field) and field[-1] != FILLER,
    )
