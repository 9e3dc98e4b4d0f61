"""Django's `{# ... #}` comment holds one line: one that runs onto the next is printed on the
page as text (HQ's plots showed a developer's note above every chart). Every template's
comments close on the line they open, or use `{% comment %}`."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def _templates() -> list[Path]:
    root = Path(settings.BASE_DIR)
    return [
        path
        for pattern in ("*/templates/**/*.html", "*/templates/**/*.txt", "*/templates/**/*.ics")
        for path in root.glob(pattern)
        if ".venv" not in path.parts
    ]


def test_every_one_line_comment_closes_on_its_line():
    templates = _templates()
    assert len(templates) > 100  # the project's own, found
    unclosed = [
        f"{path.relative_to(settings.BASE_DIR)}:{number}"
        for path in templates
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "{#" in line and "#}" not in line[line.index("{#") :]
    ]
    assert unclosed == []
