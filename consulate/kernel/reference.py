"""ISO reference data: countries (3166), currencies (4217), time zones (IANA), languages.

Babel's CLDR data is the source, so names come translated into the reader's language.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import cache

from babel import Locale
from babel.numbers import get_currency_precision, get_territory_currencies

# CLDR territories with two letters that are not countries (EU, the UN, "unknown", pseudo-regions).
_NOT_COUNTRIES = {"EU", "EZ", "QO", "UN", "XA", "XB", "ZZ"}


@cache
def country_codes() -> frozenset[str]:
    codes = (str(code) for code in Locale("en").territories)
    return frozenset(
        code for code in codes if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    )


@cache
def currency_codes() -> frozenset[str]:
    """Currencies legal tender somewhere today (so no DEM, no XXX)."""
    today = dt.datetime.now(tz=dt.UTC).date()
    return frozenset(
        currency
        for country in country_codes()
        for currency in get_territory_currencies(country, today)
    )


@cache
def timezone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_country(code: str) -> bool:
    return code in country_codes()


def is_region(code: str) -> bool:
    """A country ("DE") or a subdivision of one in ISO 3166-2 form ("DE-BY", "US-NY")."""
    country, _, subdivision = code.partition("-")
    if not is_country(country):
        return False
    return not subdivision or (subdivision.isalnum() and 1 <= len(subdivision) <= 3)


def is_currency(code: str) -> bool:
    return code in currency_codes()


def is_timezone(name: str) -> bool:
    return name in timezone_names()


def is_language(code: str) -> bool:
    return code in Locale("en").languages and len(code) in (2, 3)


def currency_minor_units(code: str) -> int:
    return get_currency_precision(code)


def country_name(code: str, locale: str) -> str:
    return Locale.parse(locale).territories.get(code, code)


def language_name(code: str, locale: str) -> str:
    return Locale.parse(locale).languages.get(code, code)
