"""`manage.py seal verify FILE --trust BUNDLE`: offline, from a PNG, a PDF or the seal's bytes;
the verdict and the signed data printed; anything but valid a CommandError, never a traceback."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from consulate.kernel.seal import seal_datamatrix_png, seal_trust_dump
from tests.consulate.kernel.test_seal_barcode import pdf_with
from tests.consulate.kernel.test_seal_pki import TODAY, Hq, etd_mrz, etd_sealed, hq_create
from tests.processes import manage


@pytest.fixture(scope="module")
def hq() -> Hq:
    return hq_create()


@pytest.fixture
def bundle(hq, tmp_path):
    path = tmp_path / "trust.pem"
    path.write_bytes(seal_trust_dump(hq.trust(revoked=("TRP2",))))
    return path


def seal_verify_run(file, bundle) -> str:
    out = io.StringIO()
    call_command("seal", "verify", str(file), "--trust", str(bundle), stdout=out)
    return out.getvalue()


def test_a_valid_seal_in_a_png_is_reported_with_its_data(hq, bundle, tmp_path):
    # given the PNG of a valid ETD seal
    png = tmp_path / "seal.png"
    png.write_bytes(seal_datamatrix_png(etd_sealed(hq)))
    # when the command verifies it
    output = seal_verify_run(png, bundle)
    # then it says valid and prints the signer and the document's data
    assert "VALID: The seal is genuine and the document is valid." in output
    assert "TRB1 / 1B1" in output
    line_1, line_2 = etd_mrz()[:36], etd_mrz()[36:]
    assert line_1 in output
    assert line_2 in output
    assert "2027-12-31" in output


def test_a_seal_in_a_pdf_built_with_reportlab_is_found_and_verified(hq, bundle, tmp_path):
    pdf = tmp_path / "etd.pdf"
    pdf.write_bytes(pdf_with(seal_datamatrix_png(etd_sealed(hq))))
    assert "VALID: The seal is genuine" in seal_verify_run(pdf, bundle)


def test_the_seals_bytes_alone_verify(hq, bundle, tmp_path):
    raw = tmp_path / "seal.bin"
    raw.write_bytes(etd_sealed(hq))
    assert "VALID: The seal is genuine" in seal_verify_run(raw, bundle)


def test_a_revoked_seal_prints_its_data_and_fails(hq, bundle, tmp_path, capsys):
    # given a seal by the revoked Paris signer
    png = tmp_path / "seal.png"
    png.write_bytes(seal_datamatrix_png(etd_sealed(hq, "TRP2")))
    out = io.StringIO()
    # when it is verified
    with pytest.raises(CommandError, match="REVOKED"):
        call_command("seal", "verify", str(png), "--trust", str(bundle), stdout=out)
    # then the data was printed before the refusal
    assert "TRP2 / 1B2" in out.getvalue()
    assert etd_mrz()[:36] in out.getvalue()


def test_an_expired_seal_fails(hq, bundle, tmp_path):
    raw = tmp_path / "seal.bin"
    raw.write_bytes(etd_sealed(hq, expiry="200101", signed_on=TODAY - dt.timedelta(days=1)))
    with pytest.raises(CommandError, match="EXPIRED"):
        seal_verify_run(raw, bundle)


def test_a_seal_from_another_root_fails(bundle, tmp_path):
    raw = tmp_path / "seal.bin"
    raw.write_bytes(etd_sealed(hq_create()))
    with pytest.raises(CommandError, match="INVALID"):
        seal_verify_run(raw, bundle)


@pytest.mark.parametrize(
    "content",
    [b"", b"garbage", b"\xdc\x03garbage", b"%PDF-1.4 garbage", b"\x89PNG\r\n\x1a\n\x00"],
)
def test_garbage_is_a_command_error(bundle, tmp_path, content):
    garbage = tmp_path / "garbage"
    garbage.write_bytes(content)
    with pytest.raises(CommandError):
        seal_verify_run(garbage, bundle)


def test_a_missing_file_or_a_bad_bundle_is_a_command_error(hq, bundle, tmp_path):
    raw = tmp_path / "seal.bin"
    raw.write_bytes(etd_sealed(hq))
    with pytest.raises(CommandError, match="Cannot read"):
        seal_verify_run(tmp_path / "missing.png", bundle)
    with pytest.raises(CommandError, match="trust bundle"):
        seal_verify_run(raw, raw)


def test_run_as_a_process_garbage_exits_1_without_a_traceback(bundle, tmp_path):
    # given a file that is no seal, run as a person would
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x00" * 100)
    # when the command runs in its own process (it opens no database)
    result = manage("consulate_seal_unused", "seal", "verify", str(garbage), "--trust", str(bundle))
    # then it exits 1 with one line that says why
    assert result.returncode == 1
    assert "No seal could be found in this file." in result.stderr
    assert "Traceback" not in result.stderr
