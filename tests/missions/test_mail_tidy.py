"""The plain-text body of every e-mail: paragraphs one blank line apart, whatever blank lines
the templates' tags left (`missions.mail.plain_text_tidy`)."""

from __future__ import annotations

from missions.mail import plain_text_tidy


def test_runs_of_blank_lines_become_one():
    rendered = "\n\nDear Ayşe,\n\n\n  \n\t\nYour visa is refused.\n- insurance\n\n\n\nFollow: x\n\n"
    assert plain_text_tidy(rendered) == (
        "Dear Ayşe,\n\nYour visa is refused.\n- insurance\n\nFollow: x\n"
    )


def test_a_line_of_text_keeps_its_own_spaces():
    assert plain_text_tidy("  indented\nline  \n") == "  indented\nline  \n"
