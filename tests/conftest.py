"""Shared fixtures.

The test session migrates the public schema, the mission template and two missions once
(`alpha` in Berlin, EUR; `beta` in Tokyo, JPY), committed, so every test can check that nothing
leaks from one mission to the other. Ordinary tests run inside a transaction that is rolled
back (`db`). Tests that need real commits (concurrency, pg_dump, a Celery worker, a browser)
use `committed_db` and create and drop what they need (`throwaway_mission`).
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from collections.abc import Iterator
from html import unescape
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import translation
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import HqRole, User
from consulate.kernel.actors import SYSTEM
from consulate.kernel.crypto.envelope import active_key_id
from consulate.kernel.crypto.models import DataKey
from missions.models import Domain, Membership, Mission
from missions.services import mission_create
from tests.factories import MembershipFactory, MissionFactory, MissionParams, UserFactory

ALPHA = MissionParams(code="alpha", name="Consulate-General in Berlin")
BETA = MissionParams(
    code="beta", name="Embassy in Tokyo", kind="embassy", host_country="JP", city="Tokyo",
    timezone="Asia/Tokyo", currency="JPY", languages=["ja", "tr", "en"],
    address="2-33-6 Jingumae, Shibuya-ku\nTokyo 150-0001",
)  # fmt: skip


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker):  # type: ignore[no-untyped-def]
    """Replaces pytest-django's: it creates the test database only when a collected test
    carries its django_db mark, so a run of `committed_db` tests alone would have worked on
    the developer's own database. Here it is created for every run."""
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        databases = setup_databases(
            verbosity=request.config.option.verbose, interactive=False, aliases={"default"}
        )
        call_command("migrate_all", verbosity=0)
        # The public schema's data key (accounts' names) was made by a migration a moment ago;
        # read it outside any transaction so that it is cached, as a long-settled key is in a
        # running server, and pinned query counts do not pay for it in every test.
        active_key_id(settings.PUBLIC_SCHEMA_NAME)
        for params in (ALPHA, BETA):
            if not Mission.objects.filter(code=params["code"]).exists():
                mission_create(acting_user=SYSTEM, **params)
    yield
    with django_db_blocker.unblock():
        # Threads and live servers may leave connections open; the test database can only be
        # dropped once they are gone.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        teardown_databases(databases, verbosity=request.config.option.verbose)


@pytest.fixture(autouse=True)
def _start_in_public_schema() -> Iterator[None]:
    """A request leaves the connection on its mission's schema; keep that from the next test."""
    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()


@pytest.fixture
def fresh_key_cache() -> Iterator[None]:
    """No data key cached when the test starts, so that a key cached by an earlier test cannot
    hide a bug (a key never stored, say). Afterwards the public schema's data key is cached
    again, as the session cached it (`django_db_setup`): inside a test's transaction a key
    younger than `envelope.SETTLED_AFTER` is never cached again, and every later test would pay
    a query per public value it decrypts, or not, with the suite's speed."""
    from consulate.kernel.crypto import envelope

    public = settings.PUBLIC_SCHEMA_NAME
    keys = {cached: key for cached, key in envelope._data_keys.items() if cached[0] == public}
    envelope.clear_key_cache()
    yield
    envelope.clear_key_cache()
    envelope._data_keys.update(keys)


@pytest.fixture
def settled_keys(monkeypatch: pytest.MonkeyPatch, fresh_key_cache: None) -> None:
    """Data keys taken as settled, as every key is in production a few minutes after it is
    made: decrypting costs no query once a key is cached. Without it a test that counts queries
    would count one more per key read when it runs within five minutes of the test database's
    creation (`envelope.SETTLED_AFTER`), and pass or fail with the suite's speed."""
    from consulate.kernel.crypto import envelope

    monkeypatch.setattr(envelope, "SETTLED_AFTER", dt.timedelta(0))


@pytest.fixture
def public_clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The clock the kept public answers are judged fresh or stale by
    (consulate/kernel/public_cache.py): `public_clock[0] += 2` moves it on two seconds."""
    from consulate.kernel import public_cache

    now = [time.time()]
    monkeypatch.setattr(public_cache, "_now", lambda: now[0])
    return now


@pytest.fixture
def renewal_held_elsewhere(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """While `renewal_held_elsewhere[0]` is True, another process holds the renewal of every
    stale public copy (consulate/kernel/public_cache.py), so this one is served the copy; set it
    to False and the next request claims the renewal itself."""
    from consulate.kernel import public_cache

    claim = public_cache._renewal_claimed
    held = [True]
    monkeypatch.setattr(
        public_cache,
        "_renewal_claimed",
        lambda key, seconds: not held[0] and claim(key, seconds),
    )
    return held


@pytest.fixture(autouse=True)
def _start_in_the_default_language() -> Iterator[None]:
    """A request in Turkish leaves Turkish active in the thread (LocaleMiddleware activates the
    reader's language and nothing deactivates it); keep that from the next test."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _start_with_no_task_nudged(monkeypatch: pytest.MonkeyPatch) -> None:
    """`task_nudge_on_commit` remembers, per process, the runs it queued: an earlier test's run
    "starting in a second" would cover (and silence) this test's nudge."""
    from consulate.kernel import tenancy

    monkeypatch.setattr(tenancy, "_nudges", tenancy.Nudges())


@pytest.fixture(autouse=True)
def _start_with_an_empty_cache() -> None:
    """Pages keep fragments in the cache keyed by what they show (a mission's profile by its
    last change); a test that changed rows behind the ORM's back (`.update()`) and rolled back
    would leave its fragment for the next test. The test settings' cache is per process."""
    from django.core.cache import cache

    from appointments.selectors import service_forget_here
    from consulate.kernel.tenancy import tenant_cache_forget_here

    cache.clear()
    tenant_cache_forget_here()
    service_forget_here()


@pytest.fixture
def mission_a(db) -> Mission:  # type: ignore[no-untyped-def]
    return Mission.objects.get(code="alpha")


@pytest.fixture
def mission_b(db) -> Mission:  # type: ignore[no-untyped-def]
    return Mission.objects.get(code="beta")


@pytest.fixture
def in_mission_a(mission_a: Mission) -> Iterator[Mission]:
    """Run the test body in mission A's schema."""
    with schema_context(mission_a.schema_name):
        yield mission_a


def host_client(host: str) -> Client:
    return Client(HTTP_HOST=host)


class _TextOf(HTMLParser):
    """The text a reader sees inside elements, each element's text one entry: `<br>` and
    block ends are line breaks, runs of spaces one space."""

    VOID = frozenset({"br", "img", "input", "meta", "link", "hr", "source", "wbr"})

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.tag, self.attrs = tag, attrs
        self.depth = 0
        self.found: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            if tag == "br":
                self.found[-1].append("\n")
            elif tag not in self.VOID:
                self.depth += 1
            return
        given = dict(attrs)
        if tag == self.tag and all(
            value in (given.get(key) or "").split() or given.get(key) == value
            for key, value in self.attrs.items()
        ):
            self.depth = 1
            self.found.append([])

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag not in self.VOID:
            self.depth -= 1
            if tag in {"p", "li", "tr", "dd", "dt", "h1", "h2", "h3", "div", "option", "td", "th"}:
                self.found[-1].append("\n")

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.found[-1].append(data)


def texts_of(html: str | bytes, tag: str, **attrs: str) -> list[str]:
    """What a reader sees in each `tag` element with `attrs` (`class_` for class): its text,
    lines stripped, empty lines dropped. Tests read pages through this, as a person would."""
    if isinstance(html, bytes):
        html = html.decode()
    wanted = {key.rstrip("_"): value for key, value in attrs.items()}
    parser = _TextOf(tag, wanted)
    parser.feed(html)
    texts = []
    for parts in parser.found:
        lines = (" ".join(line.split()) for line in "".join(parts).splitlines())
        texts.append("\n".join(line for line in lines if line))
    return texts


def _error_summary_html(html: str | bytes) -> str | None:
    """The markup of a page's error summary (`_error_summary.html`), or None."""
    page = html.decode() if isinstance(html, bytes) else html
    summary = re.search(r'<div class="error-summary"[^>]*id="error-summary".*?</div>', page, re.S)
    return summary.group(0) if summary else None


def error_summary(html: str) -> list[tuple[str, str]]:
    """A page's error summary (`_error_summary.html`): each linked reason's link and text, in
    order."""
    summary = _error_summary_html(html)
    assert summary is not None
    links = re.findall(r'<li><a href="([^"]+)">(.*?)</a></li>', summary, re.S)
    return [(href, unescape(text)) for href, text in links]


def error_summary_lines(html: str | bytes) -> list[str]:
    """Every line of a page's error summary, linked or not (a reason for no field), as the
    reader sees it, in order; [] when the page has none."""
    summary = _error_summary_html(html)
    return texts_of(summary, "li") if summary else []


def widget_refused(html: str | bytes, input_id: str) -> bool:
    """Whether the input `input_id` is marked refused (aria-invalid) and names its error list
    (`<id>_errors`, `_form_field.html`) in its aria-describedby, so a screen reader says why
    with the input."""
    page = html.decode() if isinstance(html, bytes) else html
    tag = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{re.escape(input_id)}"[^>]*>', page)
    if tag is None:
        return False
    described = re.search(r'aria-describedby="([^"]*)"', tag.group(0))
    return (
        'aria-invalid="true"' in tag.group(0)
        and described is not None
        and f"{input_id}_errors" in described.group(1).split()
        and f'id="{input_id}_errors"' in page
    )


def text_of(html: str | bytes, tag: str, **attrs: str) -> str:
    """The text of the first such element (AssertionError when there is none)."""
    found = texts_of(html, tag, **attrs)
    assert found, f"no <{tag} {attrs}> on the page"
    return found[0]


def written_short(moment: dt.datetime) -> str:
    """A time as every page writes it in English, 24 hours, in `moment`'s own zone:
    "Mon 7 Dec 2026, 14:05" (`reference.day_and_time_written_short`), never "2:05 PM"."""
    return f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M}"


@pytest.fixture
def client_hq(db) -> Client:  # type: ignore[no-untyped-def]
    return host_client("localhost")


@pytest.fixture
def client_a(mission_a: Mission) -> Client:
    return host_client(mission_a.host)


@pytest.fixture
def client_b(mission_b: Mission) -> Client:
    return host_client(mission_b.host)


@pytest.fixture
def citizen(db) -> User:  # type: ignore[no-untyped-def]
    return UserFactory(email="citizen@example.org")


def make_staff(mission: Mission, role: str, email: str | None = None) -> User:
    user = UserFactory(email=email or f"{role}.{mission.code}.{uuid.uuid4().hex[:6]}@example.org")
    MembershipFactory(user=user, mission=mission, role=role)
    return user


@pytest.fixture
def officer_a(mission_a: Mission) -> User:
    return make_staff(mission_a, "officer")


@pytest.fixture
def officer_b(mission_b: Mission) -> User:
    return make_staff(mission_b, "officer")


@pytest.fixture
def hq_analyst(db) -> User:  # type: ignore[no-untyped-def]
    return UserFactory(hq_role=HqRole.ANALYST)


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Autocommit database access for the whole test; the test cleans up what it creates."""
    with django_db_blocker.unblock():
        assert connection.settings_dict["NAME"].startswith("test_"), "not the test database"
        yield
    connection.set_schema_to_public()


def drop_mission(mission: Mission) -> None:
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{mission.schema_name}" CASCADE')
    Domain.objects.filter(tenant=mission).delete()
    DataKey.objects.filter(schema_name=mission.schema_name).delete()
    Membership.objects.filter(mission=mission).delete()
    Mission.objects.filter(pk=mission.pk).delete()


@pytest.fixture
def throwaway_mission(committed_db) -> Iterator[Mission]:  # type: ignore[no-untyped-def]
    """A committed mission of its own, dropped (schema and all) after the test."""
    mission = MissionFactory(code=f"t{uuid.uuid4().hex[:10]}")
    try:
        yield mission
    finally:
        drop_mission(mission)


# force_login must name a backend: the first configured one (django-axes) loads no users.
MODEL_BACKEND = "missions.auth.ModelBackend"


def totp_code(secret: str) -> str:
    """The current TOTP code, never one about to expire (allauth accepts only the current step)."""
    from allauth.mfa import app_settings
    from allauth.mfa.totp.internal.auth import (
        format_hotp_value,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    period = app_settings.TOTP_PERIOD
    if period - time.time() % period < 3:
        time.sleep(period - time.time() % period + 0.2)
    counter = int(time.time()) // period
    assert counter in list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counter))


@pytest.fixture
def eager_tasks():  # type: ignore[no-untyped-def]
    """Run queued tasks in-process (the worker's job), so their e-mails can be checked."""
    from consulate.celery import app

    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False
