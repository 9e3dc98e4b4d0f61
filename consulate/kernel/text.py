"""Free text a person typed, as every app keeps it: one rule, one pair of messages.

A name, an address, a reason: normalised (NFC, so "é" typed two ways is one text), trimmed, and
refused with a message beside its field when it holds a control character other than a line
break or a tab (a NUL cannot be stored; an escape sequence can rewrite a terminal), a lone
surrogate (not text at all: it cannot be written as UTF-8), or more characters than its field
keeps. Each app passes its own error code.
"""

from __future__ import annotations

import enum
import unicodedata
from typing import Any

from django.utils.translation import gettext_lazy as _

from .errors import ApplicationError

# what a person may type besides printable text: a textarea's line breaks and a tab
TYPED_CONTROLS = "\n\r\t"


def text_clean(value: Any, *, field: str, limit: int, code: enum.Enum) -> str:
    """`value` as kept (None as ""), or `ApplicationError(code, field=field)` saying why not."""
    text = unicodedata.normalize("NFC", str(value if value is not None else "")).strip()
    if any(
        unicodedata.category(char) in ("Cc", "Cs") for char in text if char not in TYPED_CONTROLS
    ):
        raise ApplicationError(
            code, _("Remove the control characters from this field."), field=field
        )
    if len(text) > limit:
        raise ApplicationError(
            code, _("Use at most %(limit)s characters.") % {"limit": limit}, field=field
        )
    return text
