"""Browser tests: Playwright (sync API) drives Debian's chromium against a live server.

The server runs in a thread of the test process (Django's `LiveServerThread`) on 127.0.0.1 and a
free port. It opens its own database connections, so the tests use `committed_db`: what a test
creates is committed and visible to the server, and the test removes it afterwards.

HQ is `localhost:<port>`, a mission `<code>.localhost:<port>`; chromium is told to resolve every
`*.localhost` name to 127.0.0.1, so no /etc/hosts entry is needed.

No chromium, no silent pass: without /usr/bin/chromium the tests fail and say how to install it,
unless CONSULATE_SKIP_BROWSER=1 asks to skip them.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.management import call_command
from django.test.testcases import LiveServerThread

from tests.conftest import totp_code  # noqa: F401 - the browser tests' packages import it here

# Playwright's sync API runs an asyncio loop in the test thread, which makes Django refuse ORM
# calls there ("SynchronousOnlyOperation"). The test thread's ORM use is plain synchronous code,
# so the guard does not apply; the server answers in threads of its own.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("CONSULATE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP localhost 127.0.0.1, MAP *.localhost 127.0.0.1",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = "correct horse battery"  # tests.factories.UserFactory's password


def _require_chromium() -> None:
    if os.environ.get("CONSULATE_SKIP_BROWSER") == "1":
        pytest.skip(
            "BROWSER TESTS SKIPPED because CONSULATE_SKIP_BROWSER=1 is set: "
            "the pages were NOT checked in a real browser."
        )
    if not CHROMIUM.exists():
        pytest.fail(
            f"Browser tests need chromium at {CHROMIUM}, and it is missing. "
            "Install it with `sudo apt-get install chromium` (Debian/Ubuntu), "
            "or set CONSULATE_SKIP_BROWSER=1 to skip the browser tests on purpose.",
            pytrace=False,
        )


@contextlib.contextmanager
def running_live_server() -> Iterator[str]:
    """Serve the site from a thread on a free port; `http://localhost:<port>` is HQ and
    `<code>.localhost:<port>` a mission. Shared by every package's browser fixtures."""
    _require_chromium()
    # .mo files are build products (gitignored); the Turkish pages need them.
    call_command("compile_catalogues", verbosity=0)
    server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    try:
        yield f"http://localhost:{server.port}"
    finally:
        server.terminate()


@contextlib.contextmanager
def running_chromium() -> Iterator[Any]:
    """Debian's chromium under Playwright. Only one Playwright session may be open at a time."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextlib.contextmanager
def signed_in_on_a_phone(
    browser: Any, url: Callable[..., str], *, email: str, language: str, mission: str = "alpha"
) -> Iterator[Any]:
    """A page in a phone's browser (390 x 844, touch) reading `language`, signed in at `mission`
    as `email` (password PASSWORD, no second factor: a citizen); its context closed after."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        context.set_default_timeout(15_000)
        context.add_cookies(
            [{"name": "django_language", "value": language,
              "domain": f"{mission}.{settings.PORTAL_HOST}", "path": "/"}]
        )  # fmt: skip
        page = context.new_page()
        page.goto(url("/accounts/login/", mission=mission))
        page.locator("input[name=login]").fill(email)
        page.locator("input[name=password]").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").first.click()
        assert "/accounts/login/" not in page.url
        yield page
    finally:
        context.close()


def in_own_browser_thread(body: Callable[[Any], None]) -> None:
    """Run `body(chromium)` with a chromium of its own, in a thread of its own, and re-raise
    what it raised. Playwright's sync API refuses to start while another instance runs in the
    same thread (other test modules keep a session-wide browser open)."""
    import threading

    from django.db import connections

    if not CHROMIUM.exists():
        pytest.fail(f"Browser tests need chromium at {CHROMIUM}", pytrace=False)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with running_chromium() as chromium:
                body(chromium)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


@pytest.fixture(scope="session")
def live_server_url(django_db_setup: Any) -> Iterator[str]:
    with running_live_server() as url:
        yield url


@pytest.fixture(scope="session")
def browser(live_server_url: str) -> Iterator[Any]:
    with running_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Any, committed_db: None) -> Iterator[Any]:
    """A fresh desktop-sized page (own cookies) whose language is English."""
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def phone_page(browser: Any, committed_db: None) -> Iterator[Any]:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="en-GB"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def url(live_server_url: str) -> Callable[..., str]:
    """`url("/path")` at HQ, `url("/path", mission="alpha")` at a mission, `host=` for any host."""
    port = live_server_url.rsplit(":", 1)[1]

    def build(path: str = "/", *, mission: str | None = None, host: str | None = None) -> str:
        name = host or (f"{mission}.{settings.PORTAL_HOST}" if mission else settings.PORTAL_HOST)
        return f"http://{name}:{port}{path}"

    return build


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def unique_email(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@example.org"
