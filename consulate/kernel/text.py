"""Free text a person typed, as every app keeps it: one rule, one set of messages.

A name, an address, a reason: normalised (NFC, so "é" typed two ways is one text), trimmed, and
refused with a message beside its field when it holds a control character other than a line
break or a tab (a NUL cannot be stored; an escape sequence can rewrite a terminal), a lone
surrogate (not text at all: it cannot be written as UTF-8), an invisible direction control
(`DIRECTION_CONTROLS`), or more characters than its field keeps. Each app passes its own error
code.

A date typed (`date_clean`) is read as YYYY-MM-DD, what a date field sends, and a day that
does not exist is refused saying so ("February 1990 has 28 days"), not as a wrong format.

Refused, never stripped: what is kept is a record (an officer's note, a refusal's reason), and
nothing in it changes without the person who typed it seeing why.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import re
import unicodedata
from typing import Any

from django.utils.dates import MONTHS
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .errors import ApplicationError

# what a person may type besides printable text: a textarea's line breaks and a tab
TYPED_CONTROLS = "\n\r\t"

# The bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): invisible,
# they reorder what follows them, so "Accept" can display as "tpeccA" or a sentence with another
# meaning ("Trojan Source", CVE-2021-42574), and a page or a printout shows what was not typed.
# Left to right and right to left text needs none of them: the Unicode algorithm orders Arabic,
# Persian and Hebrew by their letters. The marks U+200E (LRM), U+200F (RLM) and U+061C (ALM) are
# kept: they reorder nothing, they only give a neutral character (a bracket, a full stop beside
# digits) a direction, and right-to-left keyboards type them in names and addresses. So are the
# joiners U+200C and U+200D, which Persian and other scripts spell with.
DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _limit_said(limit: int) -> str:
    return gettext("At most %(limit)s characters.") % {"limit": limit}


# The hint beside a box of typed text, in the reader's language when the page is rendered.
# Pages say the limit instead of a `maxlength`, which cuts a pasted text without a word: the
# rule refuses more and the page keeps the typed text in its box to shorten.
text_limit_hint = lazy(_limit_said, str)


def text_clean(value: Any, *, field: str, limit: int, code: enum.Enum) -> str:
    """`value` as kept (None as ""), or `ApplicationError(code, field=field)` saying why not."""
    text = unicodedata.normalize("NFC", str(value if value is not None else "")).strip()
    if any(
        unicodedata.category(char) in ("Cc", "Cs") for char in text if char not in TYPED_CONTROLS
    ):
        raise ApplicationError(
            code, _("Remove the control characters from this field."), field=field
        )
    if not DIRECTION_CONTROLS.isdisjoint(text):
        raise ApplicationError(
            code,
            _("Remove the invisible direction-control characters from this field."),
            field=field,
        )
    if len(text) > limit:
        raise ApplicationError(
            code, _("Use at most %(limit)s characters.") % {"limit": limit}, field=field
        )
    return text


ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def date_clean(value: Any, *, field: str, code: enum.Enum) -> dt.date | None:
    """The day `value` names as YYYY-MM-DD (a date as is; None when nothing was typed), or
    `ApplicationError(code, field=field)` saying why not: the format, a month that does not
    exist, or a day its month does not have."""
    if isinstance(value, dt.date):
        return value
    text = text_clean(value, field=field, limit=40, code=code)
    if not text:
        return None
    match = ISO_DATE.fullmatch(text)
    year, month, day = (int(part) for part in match.groups()) if match else (0, 0, 0)
    if not year:
        raise ApplicationError(code, _("Enter the date as YYYY-MM-DD."), field=field)
    if not 1 <= month <= 12:
        raise ApplicationError(
            code,
            _("There is no month %(month)s: a month is 01 to 12.") % {"month": f"{month:02d}"},
            field=field,
        )
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise ApplicationError(
            code,
            _("%(month)s %(year)s has %(days)s days: check the day.")
            % {"month": MONTHS[month], "year": year, "days": days},
            field=field,
        )
    return dt.date(year, month, day)
