"""When a document the system issued or records has expired: one rule for every kind (a
passport HQ personalised, an emergency travel document, a visa), read by HQ's registers
(`passports.register.selectors`), the public verifier (`passports.register.verification`) and
the seal's own check (`consulate.kernel.seal.seal_verify`, which the offline command runs too).
"""

from __future__ import annotations

import datetime as dt


def document_expired(*, valid_until: dt.date, at: dt.datetime) -> bool:
    """Whether a document in force until `valid_until` (its last day, as its MRZ and the
    registers write it) has expired at `at`: from the day after `valid_until`, the day
    counted in UTC.

    UTC, not HQ's zone nor the reader's: the offline verifier knows no HQ, and one rule gives
    the page, the API and the command one answer for the same moment. So near midnight a
    document on its last day in New York (UTC-5) has expired from 00:00 UTC, 19:00 there, and
    one expired in Tokyo (UTC+9) since midnight there is in force until 09:00 there; the page
    shows the day itself, so whoever checks at a border judges those hours by their own clock.
    """
    if at.tzinfo is None:
        raise ValueError("at must be an aware datetime")
    return at.astimezone(dt.UTC).date() > valid_until
