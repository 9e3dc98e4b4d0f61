"""The Turkish catalogue is complete: nothing untranslated, nothing fuzzy, placeholders intact.

A missing msgstr shows English to a Turkish reader; a fuzzy one is ignored at compile time (same
effect); a placeholder lost or misspelt in translation raises KeyError when the message is shown.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po
from django.conf import settings

LOCALES = ["tr"]
# %(name)s, %s, %d ... and %% (a literal percent sign)
PYTHON_FORMAT = re.compile(r"%(?:\((?P<name>[^)]+)\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
BRACE_FORMAT = re.compile(r"\{[^{}]*\}")


def catalogue_path(locale: str) -> Path:
    return Path(settings.BASE_DIR) / "locale" / locale / "LC_MESSAGES" / "django.po"


def load(locale: str) -> Catalog:
    path = catalogue_path(locale)
    assert path.exists(), f"{path} is missing: run `manage.py makemessages -l {locale}`"
    with path.open("rb") as po_file:
        return read_po(po_file, locale=locale)


def placeholders(text: str) -> list[str]:
    return sorted(match.group(0) for match in PYTHON_FORMAT.finditer(text))


def entries(catalogue: Catalog) -> list[Message]:
    # obsolete (#~) entries are kept apart in `catalogue.obsolete` and never shown
    return [message for message in catalogue if message.id]


def as_list(value: str | tuple[str, ...] | None) -> list[str]:
    if value is None:
        return [""]
    return [value] if isinstance(value, str) else list(value)


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_declares_language_and_plural_forms(locale: str) -> None:
    catalogue = load(locale)
    assert str(catalogue.locale) == locale
    assert catalogue.num_plurals == 2
    assert not catalogue.fuzzy, "the header is marked fuzzy, so the whole catalogue is ignored"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_entry_is_translated(locale: str) -> None:
    catalogue = load(locale)
    messages = entries(catalogue)
    assert len(messages) > 50, "the catalogue is suspiciously small: was makemessages run?"
    untranslated = [m.id for m in messages if not all(s.strip() for s in as_list(m.string))]
    assert not untranslated, f"untranslated in {locale}: {untranslated}"


@pytest.mark.parametrize("locale", LOCALES)
def test_no_entry_is_fuzzy(locale: str) -> None:
    fuzzy = [m.id for m in entries(load(locale)) if m.fuzzy]
    assert not fuzzy, f"fuzzy (needs review, ignored when compiled) in {locale}: {fuzzy}"


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_match(locale: str) -> None:
    mismatched = []
    for message in entries(load(locale)):
        sources = as_list(message.id)
        # every plural form is checked against the plural msgid; the first against the singular
        for index, translation in enumerate(as_list(message.string)):
            source = sources[min(index, len(sources) - 1)]
            is_python_format = "python-format" in message.flags or PYTHON_FORMAT.search(source)
            if is_python_format and placeholders(source) != placeholders(translation):
                mismatched.append((source, translation))
            if "python-brace-format" in message.flags and sorted(
                BRACE_FORMAT.findall(source)
            ) != sorted(BRACE_FORMAT.findall(translation)):
                mismatched.append((source, translation))
    assert not mismatched, f"placeholders differ in {locale}: {mismatched}"


def test_placeholder_pattern_sees_what_gettext_sees() -> None:
    assert placeholders("“%(value)s” is %d%% done") == ["%%", "%(value)s", "%d"]
    assert placeholders("%(counter)s missions found.") == ["%(counter)s"]


@pytest.mark.django_db
def test_the_turkish_log_in_page_says_what_the_menu_says(mission_a) -> None:
    # allauth's own catalogue says "Giriş Yap" on the page the menu's "Oturum aç" leads to
    from tests.conftest import host_client, text_of

    client = host_client(mission_a.host)
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert text_of(html, "h1") == "Oturum aç"
    assert "Oturum aç" in text_of(html, "main")
    assert "Giriş Yap" not in html
    signup = client.get("/accounts/signup/", HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert "Kaydol" in text_of(signup, "h1")
    assert "Üye Ol" not in signup
