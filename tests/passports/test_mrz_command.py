"""`manage.py mrz`: compose prints the two lines, check prints what it read and either "valid"
or every problem, and refuses (CommandError, never a traceback) whatever it is given."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

TD3_SPECIMEN = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)
SPECIMEN_OPTIONS = [
    "--surname", "Eriksson",
    "--given-names", "Anna Maria",
    "--document-number", "L898902C3",
    "--issuing-state", "UTO",
    "--nationality", "UTO",
    "--birth", "1974-08-12",
    "--sex", "F",
    "--expiry", "2012-04-15",
    "--optional", "ZE184226B",
]  # fmt: skip


def run(*args: str) -> str:
    out = StringIO()
    call_command("mrz", *args, stdout=out)
    return out.getvalue()


def options_with(**changes: str) -> list[str]:
    options = list(SPECIMEN_OPTIONS)
    for name, value in changes.items():
        flag = "--" + name.replace("_", "-")
        options[options.index(flag) + 1] = value
    return options


def test_compose_td3_prints_the_specimen() -> None:
    assert run("compose", "td3", *SPECIMEN_OPTIONS).splitlines() == list(TD3_SPECIMEN)


def test_compose_visas() -> None:
    visa = options_with(document_number="L898902C", birth="1969-08-06", expiry="1994-06-23")
    assert run("compose", "mrva", *visa).splitlines() == [
        "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C<3UTO6908061F9406236ZE184226B<<<<<<<",
    ]
    mrvb = options_with(
        document_number="L898902C", birth="1969-08-06", expiry="1994-06-23", optional="ZE184226"
    )
    assert run("compose", "mrvb", *mrvb).splitlines() == [
        "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
        "L898902C<3UTO6908061F9406236ZE184226",
    ]


def test_compose_with_a_document_code_and_national_characters() -> None:
    lines = run(
        "compose", "td3", *options_with(surname="Öztürk", issuing_state="TUR", nationality="TUR"),
        "--document-code", "PE",
    ).splitlines()  # fmt: skip
    assert lines[0].startswith("PETUROEZTUERK<<ANNA<MARIA<")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"issuing_state": "XYZ"}, "Issuing state: “XYZ” is not an ICAO three-letter code."),
        ({"document_number": "1234567890"}, "Document number: at most 9 characters"),
        ({"sex": "Q"}, "Sex: M, F or X"),
        ({"surname": "Παπαδόπουλος"}, "Surname: The MRZ has no transliteration"),
        ({"given_names": "Anna\x00"}, "U+0000"),
        ({"birth": "1974-13-01"}, "--birth: '1974-13-01' is not a date (YYYY-MM-DD)."),
        ({"expiry": "soon"}, "--expiry: 'soon' is not a date"),
        ({"expiry": "1970-01-01"}, "Date of expiry: the document expires on or before"),
    ],
)
def test_compose_refuses_with_the_message(changes: dict[str, str], message: str) -> None:
    with pytest.raises(CommandError) as caught:
        run("compose", "td3", *options_with(**changes))
    assert message in str(caught.value)


def test_compose_refuses_an_unknown_format_and_a_missing_option() -> None:
    with pytest.raises(CommandError, match="invalid choice"):
        run("compose", "td1", *SPECIMEN_OPTIONS)
    with pytest.raises(CommandError, match="--surname"):
        run("compose", "td3", *SPECIMEN_OPTIONS[2:])


def test_check_prints_the_fields_and_valid() -> None:
    output = run("check", *TD3_SPECIMEN)
    assert "Surname: ERIKSSON" in output
    assert "Given names: ANNA MARIA" in output
    assert "Date of birth: 1974-08-12" in output
    assert "Date of expiry: 2012-04-15" in output
    assert output.rstrip().endswith("valid")


def test_check_fails_with_every_problem_in_words() -> None:
    # given the specimen with a wrong birth check digit and an unknown nationality
    line2 = TD3_SPECIMEN[1]
    line2 = line2[:10] + "QQQ" + line2[13:19] + "0" + line2[20:]
    out = StringIO()
    # when checked
    with pytest.raises(CommandError) as caught:
        call_command("mrz", "check", TD3_SPECIMEN[0], line2, stdout=out)
    # then the fields read are printed and each problem is said in the error
    assert "Surname: ERIKSSON" in out.getvalue()
    message = str(caught.value)
    assert "Date of birth: wrong check digit ('0' where '2' was expected)." in message
    assert "Nationality: 'QQQ' is not an ICAO three-letter code." in message
    assert "Composite check digit: wrong check digit" in message
    assert not out.getvalue().rstrip().endswith("valid")


@pytest.mark.parametrize(
    ("line1", "line2", "message"),
    [
        ("", "", "Line 1: not a passport (TD3) or visa (MRV-A, MRV-B) MRZ"),
        ("\x00" * 44, "\x00" * 44, "\\x00"),
        ("P" * 1_000_000, TD3_SPECIMEN[1], "Line 1: 1000000 characters where 44 were expected."),
        (TD3_SPECIMEN[0], "L898", "Line 2: 4 characters where 44 were expected."),
    ],
)
def test_check_refuses_bad_input_with_a_message(line1: str, line2: str, message: str) -> None:
    with pytest.raises(CommandError) as caught:
        run("check", line1, line2)
    assert message in str(caught.value)


def test_check_needs_two_lines() -> None:
    with pytest.raises(CommandError, match="line2"):
        run("check", TD3_SPECIMEN[0])


# --- visas (issue 12): the MRV-A and MRV-B a visa carries -------------------------------------

MRVA_SPECIMEN = (
    "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C<3UTO6908061F9406236ZE184226B<<<<<<<",
)
MRVB_SPECIMEN = (
    "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
    "L898902C<3UTO6908061F9406236ZE184226",
)


@pytest.mark.parametrize(("lines", "name"), [(MRVA_SPECIMEN, "MRVA"), (MRVB_SPECIMEN, "MRVB")])
def test_check_reads_a_visa(lines: tuple[str, str], name: str) -> None:
    output = run("check", *lines)
    assert output.splitlines()[0] == name
    assert "Document number: L898902C" in output
    assert "Date of expiry: 1994-06-23" in output
    assert output.rstrip().endswith("valid")


def test_check_finds_a_visas_wrong_check_digit() -> None:
    line2 = MRVA_SPECIMEN[1][:9] + "4" + MRVA_SPECIMEN[1][10:]
    with pytest.raises(CommandError) as caught:
        run("check", MRVA_SPECIMEN[0], line2)
    assert "Document number: wrong check digit ('4' where '3' was expected)." in str(caught.value)


def test_compose_a_visa_with_its_type_reads_back() -> None:
    # a short-stay visa as visas.services.issuance writes it: "VC", the type after the V
    options = options_with(document_number="V00000041", expiry="2030-06-30", optional="")
    for mrz_format, length in (("mrva", 44), ("mrvb", 36)):
        lines = run("compose", mrz_format, *options, "--document-code", "VC").splitlines()
        assert lines[0].startswith("VCUTOERIKSSON<<ANNA<MARIA")
        assert [len(line) for line in lines] == [length, length]
        assert run("check", *lines).rstrip().endswith("valid")
    # a passport's code is refused for a visa, with its message
    with pytest.raises(CommandError, match="starts with V"):
        run("compose", "mrva", *options, "--document-code", "PE")
