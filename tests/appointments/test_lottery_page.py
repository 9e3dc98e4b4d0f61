"""The draw's public page tells a citizen, in their language, how to check the draw themselves:
the commitment before registration, the tickets entered, the seed after the draw, the
`sha256sum` steps, and a small program to download and run. No `manage.py` for citizens."""

import datetime as dt
import subprocess
import sys

import pytest
from django.utils import timezone

from appointments import services
from appointments.models import ReleaseMode
from consulate.kernel.actors import SYSTEM
from tests.appointments.conftest import build_catalogue, person
from tests.factories import UserFactory


@pytest.fixture
def lottery_round(in_mission_a):
    service = build_catalogue(
        counters=1, code="visa", name="Visa submission", name_tr="Vize başvurusu",
        release_mode=ReleaseMode.LOTTERY, days=10,
    )  # fmt: skip
    now = timezone.now()
    lottery_round = services.lottery_round_create(
        service=service,
        period_start=(now + dt.timedelta(days=3)).date(),
        period_end=(now + dt.timedelta(days=3)).date(),
        window_opens_at=now - dt.timedelta(hours=1),
        window_closes_at=now + dt.timedelta(hours=1),
        acting_user=SYSTEM,
    )
    for n in range(9):  # more people than the day's six places
        user = UserFactory()
        services.lottery_enter(
            lottery_round=lottery_round, person=person(f"L{n:07d}"), user=user, language="en",
            acting_user=user,
        )  # fmt: skip
    return lottery_round


def _draw(lottery_round):
    services.lottery_draw(
        lottery_round=lottery_round, acting_user=SYSTEM, now=lottery_round.window_closes_at
    )
    lottery_round.refresh_from_db()


def test_before_the_draw_the_page_shows_the_commitment_and_the_tickets(lottery_round, client_a):
    page = client_a.get(f"/appointments/lottery/{lottery_round.pk}/").content.decode()
    assert lottery_round.seed_commitment in page
    assert lottery_round.seed not in page
    for ticket in lottery_round.entries.values_list("ticket", flat=True):
        assert ticket in page
    assert "Check the draw yourself" in page
    assert "manage.py" not in page
    assert client_a.get(f"/appointments/lottery/{lottery_round.pk}/verify.py").status_code == 404


def test_after_the_draw_the_page_gives_the_seed_the_steps_and_the_program(lottery_round, client_a):
    _draw(lottery_round)
    page = client_a.get(f"/appointments/lottery/{lottery_round.pk}/").content.decode()
    # the seed, the recipe with it, and the program; nothing a citizen cannot run
    assert lottery_round.seed in page
    assert f"printf '%s' '{lottery_round.seed}' | sha256sum" in page
    assert f"/appointments/lottery/{lottery_round.pk}/verify.py" in page
    assert "manage.py" not in page
    # and in Turkish, the words are Turkish
    turkish = client_a.get(
        f"/appointments/lottery/{lottery_round.pk}/", HTTP_ACCEPT_LANGUAGE="tr"
    ).content.decode()
    assert "Kura çekimini kendiniz doğrulayın" in turkish
    assert "Vize başvurusu" in turkish


def _script(client, lottery_round, language="en"):
    response = client.get(
        f"/appointments/lottery/{lottery_round.pk}/verify.py", HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="verify-draw-{lottery_round.pk}.py"'
    )
    return response.content.decode()


def _run(tmp_path, script, *args):
    path = tmp_path / "verify.py"
    path.write_text(script, encoding="utf-8")
    # a citizen's Python: nothing but the standard library, no project on the path
    return subprocess.run(
        [sys.executable, "-I", str(path), *args], capture_output=True, text=True, check=False,
        cwd=tmp_path,
    )  # fmt: skip


def test_the_downloaded_program_checks_the_draw(lottery_round, client_a, tmp_path):
    _draw(lottery_round)
    script = _script(client_a, lottery_round)
    # when a citizen runs it
    result = _run(tmp_path, script)
    # then it confirms the seed and the order, and lists every ticket with its key
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK  The seed matches the commitment." in result.stdout
    assert "OK  The tickets are in the order the seed gives." in result.stdout
    assert result.stdout.count("got a time") == 6
    # and with their ticket, only their line
    ticket = lottery_round.entries.order_by("rank").first().ticket
    mine = _run(tmp_path, script, ticket.lower())
    assert mine.stdout.count(ticket) == 1
    assert "    1  " + ticket in mine.stdout


def test_the_program_catches_a_result_that_is_not_the_seeds(lottery_round, client_a, tmp_path):
    _draw(lottery_round)
    script = _script(client_a, lottery_round)
    first, second = lottery_round.entries.order_by("rank")[:2]
    # when the published ranks of two tickets are swapped
    tampered = (
        script.replace(f"(1, '{first.ticket}'", "(1, 'X'")
        .replace(f"(2, '{second.ticket}'", f"(2, '{first.ticket}'")
        .replace("(1, 'X'", f"(1, '{second.ticket}'")
    )
    assert tampered != script
    result = _run(tmp_path, tampered)
    # then it says so and fails
    assert result.returncode == 1
    assert "MISMATCH  The published order is NOT the order the seed gives." in result.stdout
    # and a seed that is not the committed one fails too
    forged = script.replace(f"SEED = '{lottery_round.seed}'", "SEED = '00'")
    assert "MISMATCH  The seed does NOT match the commitment." in _run(tmp_path, forged).stdout


def test_the_program_speaks_the_readers_language(lottery_round, client_a, tmp_path):
    _draw(lottery_round)
    result = _run(tmp_path, _script(client_a, lottery_round, "tr"))
    assert result.returncode == 0
    assert "Tohum değeri taahhütle eşleşiyor." in result.stdout
