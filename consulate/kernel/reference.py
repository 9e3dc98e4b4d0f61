"""ISO reference data: countries (3166), currencies (4217), time zones (IANA), languages, and
how a day is written out.

Babel's CLDR data is the source, so names come translated into the reader's language.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import zoneinfo
from functools import cache

from babel import Locale
from babel.numbers import get_currency_precision, get_territory_currencies
from django.conf import settings
from django.utils import dateformat, translation
from django.utils.translation import pgettext

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


def active_locale() -> str:
    """The active language as a babel locale name ("tr", "en_GB")."""
    return (translation.get_language() or settings.LANGUAGE_CODE).replace("-", "_")


@cache
def babel_locale(name: str) -> Locale:
    """A babel Locale, parsed once per name: babel parses a name given as text on every call,
    which a page of a few thousand figures pays thousands of times (bench/hq_monitoring.py)."""
    return Locale.parse(name)


def active_babel_locale() -> Locale:
    """The active language as a babel Locale, to hand to babel's format functions."""
    return babel_locale(active_locale())


def country_name(code: str, locale: str | None = None) -> str:
    """The country's name in `locale` (default: the active language), from CLDR territory
    names; an unknown code is shown as it is."""
    return babel_locale(locale or active_locale()).territories.get(code, code)


def name_sort_key(name: str) -> str:
    """Sorts names as a reader expects, near enough in any Latin alphabet: letters with marks
    beside their base letter ("Çin" among the C's, not after Z)."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def search_fold(text: str) -> str:
    """A text as a search compares it: case and marks dropped ("Düsseldorf" and "DUSSELDORF"
    are "dusseldorf"), the dotless i as i ("Izmir", "İzmir" and "ızmir" alike). The one fold of
    every search a person types (the mission directory, the wait times)."""
    return name_sort_key(text).replace("ı", "i")


def country_codes_named(text: str, locale: str | None = None) -> frozenset[str]:
    """The countries whose name contains `text` in `locale` or in English ("alman" finds DE in
    Turkish, "germ" in any language, "BİRLEŞİK" and "birlesik" alike: `search_fold`)."""
    folded = search_fold(text.strip())
    if len(folded) < 3:
        return frozenset()
    found = set()
    for name_locale in {locale or active_locale(), "en"}:
        territories = babel_locale(name_locale).territories
        found |= {
            code for code in country_codes() if folded in search_fold(territories.get(code, ""))
        }
    return frozenset(found)


def language_name(code: str, locale: str | None = None) -> str:
    return babel_locale(locale or active_locale()).languages.get(code, code)


def day_written_out(value: dt.date) -> str:
    """A day as pages, e-mails and documents write it, in the active language: "Monday
    7 December 2026"; Turkish puts the day of the week last, "7 Aralık 2026 Pazartesi" (the
    format is translated). A datetime is written as it is, in its own zone: convert it first."""
    return dateformat.format(value, pgettext("a day written out", "l j F Y"))


def day_and_time_written_out(value: dt.datetime) -> str:
    """A day and a time of day, as `day_written_out` writes the day: "Monday 7 December 2026,
    10:10"; "7 Aralık 2026 Pazartesi, 10:10"."""
    return dateformat.format(value, pgettext("a day and time written out", "l j F Y, H:i"))


def day_written_short(value: dt.date, *, year: bool = True) -> str:
    """A day in short, in the active language: "Mon 7 Dec 2026" ("Mon 7 Dec" without the
    year); Turkish puts the day of the week last, "7 Ara 2026 Pzt", as `day_written_out`."""
    if year:
        return dateformat.format(value, pgettext("a day written short", "D j M Y"))
    return dateformat.format(value, pgettext("a day written short, without the year", "D j M"))


def day_and_time_written_short(value: dt.datetime, *, year: bool = True) -> str:
    """A day in short and a time of day: "Mon 7 Dec 2026, 10:10"; "7 Ara 2026 Pzt, 10:10"."""
    if year:
        return dateformat.format(value, pgettext("a day and time written short", "D j M Y, H:i"))
    return dateformat.format(
        value, pgettext("a day and time written short, without the year", "D j M, H:i")
    )
