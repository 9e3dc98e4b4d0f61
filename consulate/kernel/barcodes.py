"""Code128 barcodes as PNG (python-barcode), for booking references and receipt numbers.

python-barcode 0.16.1 drops a leading "99" when it starts in code set C: its last step
replaces "start, switch to set X" with "start in X", and takes the digit pair 99 right after
Start C for the switch to set C. "99QAZMJ9" came out as "QAZMJ9" (a booking reference starts
so once in about a thousand; zbar and any counter scanner read the shorter value).
`Code128` below keeps that step only where the code after the start really is a switch.
"""

from __future__ import annotations

import io
from typing import Any

from barcode import Code128 as LibraryCode128
from barcode.charsets import code128
from barcode.writer import ImageWriter


class Code128(LibraryCode128):  # type: ignore[misc]
    def _try_to_optimize(self, encoded: list[int]) -> list[int]:
        if encoded[0] == code128.START_CODES["C"] and len(encoded) > 1 and encoded[1] < 100:
            return encoded  # a digit pair (00–99) in set C, not a switch
        return super()._try_to_optimize(encoded)  # type: ignore[no-any-return]


def code128_png(text: str, **options: Any) -> bytes:
    """`text` as a Code128 barcode, a PNG; `options` are python-barcode's writer options."""
    out = io.BytesIO()
    Code128(text, writer=ImageWriter()).write(out, options=options)
    return out.getvalue()
