"""What `consulate/static/consulate/autosave.js` says on a page, checked in a real browser: the
passport draft and each step of the visa application load the one script."""

from __future__ import annotations

from typing import Any

SAVED = {"en": "Saved", "tr": "Kaydedildi"}
NUL_REFUSED = {"en": "characters that are not allowed", "tr": "izin verilmeyen karakterler"}
SERVER_ERROR = {
    "en": "Not saved: something went wrong on our side.",
    "tr": "Kaydedilmedi: bizim tarafımızda bir sorun oldu.",
}


def autosave_status_says(page: Any, text: str) -> None:
    page.wait_for_function(
        "text => document.getElementById('autosave-status').textContent.startsWith(text)",
        arg=text,
    )


def autosave_status_checked(page: Any, field: str, value: str, language: str) -> None:
    """Type into `field` and read the status line: a NUL byte refused before the view says why
    (not "something went wrong"), `value` saved says "Saved" with the time, an answer that is
    not the autosave's (a server error) says so (not "no connection"). Ends with `value` saved."""
    box = page.locator(field)
    box.fill("a\x00b")
    page.wait_for_function(
        "text => document.getElementById('autosave-status').textContent.includes(text)",
        arg=NUL_REFUSED[language],
    )
    box.fill(value)
    autosave_status_says(page, SAVED[language])
    page.route(
        "**/autosave/",
        lambda route: route.fulfill(
            status=500, content_type="text/html", body="<h1>Server Error (500)</h1>"
        ),
    )
    box.fill(f"{value} ")
    autosave_status_says(page, SERVER_ERROR[language])
    page.unroute("**/autosave/")
    box.fill(value)
    autosave_status_says(page, SAVED[language])
