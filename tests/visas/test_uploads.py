"""A visa upload is checked before anything keeps it: PDF, JPEG or PNG known from the bytes;
every attack refused with a message that says what to do; every good file accepted, images
re-encoded without metadata, PDFs kept as they came with their pages counted; the virus check
last, failing closed."""

from __future__ import annotations

import hashlib
import io
import socket
import socketserver
import struct
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngImageFile
from pytest_django.fixtures import Settings as SettingsWrapper

from consulate.kernel.errors import ApplicationError
from passports.uploads import UploadProblem
from tests.visas import files
from visas.error_codes import VisaError
from visas.scan import (
    EICAR,
    ClamdScanner,
    EicarStubScanner,
    ScannerUnavailable,
    ScanResult,
    scan,
)
from visas.uploads import (
    DOCUMENT_MAX_BYTES,
    PDF_MAX_PAGES,
    PHOTO_MAX_BYTES,
    UploadRefusal,
    upload_check,
)


def _refused(data: bytes, *, kind: str = "document", filename: str = "file.pdf") -> str:
    """The refusal's reason; checks the code, the field and that the message is a sentence."""
    with pytest.raises(ApplicationError) as caught:
        upload_check(data=data, filename=filename, kind=kind)
    error = caught.value
    assert error.code is VisaError.UPLOAD_REFUSED
    assert error.field == "file"
    assert str(error.message).endswith(".")
    reason: str = error.details["reason"]
    return reason


def _message(refusal: UploadRefusal, **values: int) -> str:
    return str(refusal.label) % values if values else str(refusal.label)


# --- good files ------------------------------------------------------------------------------


def test_a_pdf_is_kept_as_it_came_with_its_pages_counted() -> None:
    # given
    data = files.pdf_minimal(pages=3)

    # when
    checked = upload_check(data=data, filename="passport.pdf", kind="document")

    # then
    assert checked.content == data
    assert checked.content_type == "application/pdf"
    assert checked.pages == 3
    assert checked.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    "build",
    [
        files.pdf_reportlab,
        files.pdf_goto_open_action,
        files.pdf_whitespace_after_eof,
        files.pdf_content_bomb,
    ],
    ids=["reportlab", "open-at-page-one", "white-space-after-eof", "big-content-stream"],
)
def test_honest_pdfs_are_accepted(build: Callable[[], bytes]) -> None:
    assert upload_check(data=build(), filename="a.pdf", kind="document").pages == 1


def test_a_pdf_at_the_page_limit_is_accepted() -> None:
    data = files.pdf_many_pages(PDF_MAX_PAGES)
    assert upload_check(data=data, filename="a.pdf", kind="document").pages == PDF_MAX_PAGES


def test_a_jpeg_loses_its_exif_gps_and_comment() -> None:
    # given
    data = files.jpeg_with_exif()
    assert Image.open(io.BytesIO(data)).getexif()  # the test file does carry EXIF

    # when
    checked = upload_check(data=data, filename="scan.jpg", kind="document")

    # then
    stored = Image.open(io.BytesIO(checked.content))
    assert checked.content_type == "image/jpeg"
    assert checked.pages is None
    assert stored.format == "JPEG"
    assert not stored.getexif()
    assert "exif" not in stored.info
    assert "comment" not in stored.info
    assert b"PhoneMaker" not in checked.content
    assert stored.size == (400, 300)
    assert checked.sha256 == hashlib.sha256(checked.content).hexdigest()


def test_a_png_document_stays_png_without_its_text_chunks() -> None:
    # given
    data = files.png_with_text()

    # when
    checked = upload_check(data=data, filename="scan.png", kind="document")

    # then
    stored = Image.open(io.BytesIO(checked.content))
    assert checked.content_type == "image/png"
    assert stored.format == "PNG"
    assert isinstance(stored, PngImageFile)
    assert stored.text == {}
    assert b"Applicant Name" not in checked.content
    # lossless: the pixels are those of the upload
    assert stored.convert("RGB").tobytes() == Image.open(io.BytesIO(data)).convert("RGB").tobytes()


@pytest.mark.parametrize("build", [files.jpeg, files.png_with_text], ids=["jpeg", "png"])
def test_a_photo_is_stored_as_jpeg(build: Callable[[], bytes]) -> None:
    checked = upload_check(data=build(), filename="me.png", kind="photo")
    assert checked.content_type == "image/jpeg"
    assert Image.open(io.BytesIO(checked.content)).format == "JPEG"


def test_the_name_and_its_extension_decide_nothing() -> None:
    checked = upload_check(data=files.jpeg(), filename="letter.pdf", kind="document")
    assert checked.content_type == "image/jpeg"


# --- what a file is --------------------------------------------------------------------------


def test_an_empty_file_is_refused() -> None:
    assert _refused(b"") == "empty"


@pytest.mark.parametrize(
    ("kind", "limit"), [("document", DOCUMENT_MAX_BYTES), ("photo", PHOTO_MAX_BYTES)]
)
def test_a_file_over_its_kinds_limit_is_refused_before_it_is_read(kind: str, limit: int) -> None:
    # given: a PDF header and nothing readable, one byte over the limit
    data = b"%PDF-1.7\n" + b"\0" * (limit - 8)

    # when
    with pytest.raises(ApplicationError) as caught:
        upload_check(data=data, filename="big.pdf", kind=kind)

    # then
    megabytes = limit // (1024 * 1024)
    assert caught.value.details == {"reason": "too_large", "megabytes": megabytes}
    assert str(caught.value.message) == _message(UploadRefusal.TOO_LARGE, megabytes=megabytes)
    assert f"{megabytes} MB" in str(caught.value.message)


@pytest.mark.parametrize(
    "build", [files.windows_executable, files.linux_executable], ids=["exe", "elf"]
)
@pytest.mark.parametrize("kind", ["document", "photo"])
def test_a_program_named_pdf_is_refused_as_a_program(build: Callable[[], bytes], kind: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        upload_check(data=build(), filename="invoice.pdf", kind=kind)
    assert caught.value.details["reason"] == "program"
    assert str(caught.value.message) == _message(UploadRefusal.PROGRAM)


@pytest.mark.parametrize(
    "data",
    [files.gif(), files.zip_archive(), b"Plain text, not a document.", files.eicar()],
    ids=["gif", "zip", "text", "eicar-alone"],
)
def test_other_formats_are_refused(data: bytes) -> None:
    assert _refused(data) == "not_accepted"


def test_a_photo_must_be_an_image() -> None:
    assert _refused(files.pdf_minimal(), kind="photo") == "photo_not_image"


def test_a_pdf_header_not_at_offset_zero_is_refused() -> None:
    assert _refused(files.pdf_header_not_at_start()) == "pdf_header"


def test_an_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="kind"):
        upload_check(data=files.jpeg(), filename="a.jpg", kind="selfie")


# --- images ----------------------------------------------------------------------------------


def test_a_png_bomb_is_refused_before_it_is_decoded() -> None:
    # given: 20,000 x 20,000 pixels in about 50 KB
    data = files.png_bomb()
    assert len(data) < 100_000

    # when
    tracemalloc.start()
    reason = _refused(data, kind="document")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    # then
    assert reason == UploadProblem.TOO_MANY_PIXELS.value
    assert peak < 5_000_000


@pytest.mark.parametrize(
    "build", [files.png_zip_appended, files.jpeg_zip_appended], ids=["png", "jpeg"]
)
@pytest.mark.parametrize("kind", ["document", "photo"])
def test_an_image_that_is_also_a_zip_is_refused(build: Callable[[], bytes], kind: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        upload_check(data=build(), filename="a.png", kind=kind)
    assert caught.value.code is VisaError.UPLOAD_REFUSED
    assert caught.value.details["reason"] == UploadProblem.POLYGLOT.value
    assert str(caught.value.message) == str(UploadProblem.POLYGLOT.label)


# --- PDFs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (files.pdf_javascript_open_action, "pdf_active"),
        (files.pdf_escaped_javascript_name, "pdf_active"),
        (files.pdf_page_additional_action_javascript, "pdf_active"),
        (files.pdf_launch_open_action, "pdf_active"),
        (files.pdf_submit_form_action, "pdf_active"),
        (files.pdf_orphan_javascript, "pdf_active"),
        (files.pdf_javascript_in_object_stream, "pdf_active"),
        (files.pdf_embedded_file, "pdf_attachment"),
        (files.pdf_file_attachment_annotation, "pdf_attachment"),
        (files.pdf_rich_media_annotation, "pdf_attachment"),
        (files.pdf_xfa_form, "pdf_xfa"),
        (files.pdf_encrypted, "pdf_encrypted"),
        (files.pdf_encrypted_empty_password, "pdf_encrypted"),
        (files.pdf_zip_appended, "pdf_polyglot"),
        (files.pdf_zip_inside, "pdf_polyglot"),
        (files.pdf_html_after_eof, "pdf_polyglot"),
        (files.pdf_with_executable_inside, "pdf_polyglot"),
        (files.pdf_no_pages, "pdf_no_pages"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_a_dangerous_pdf_is_refused_with_its_message(
    build: Callable[[], bytes], reason: str
) -> None:
    # when
    with pytest.raises(ApplicationError) as caught:
        upload_check(data=build(), filename="a.pdf", kind="document")

    # then
    assert caught.value.details["reason"] == reason
    assert str(caught.value.message) == _message(UploadRefusal(reason))


def test_a_pdf_over_the_page_limit_is_refused() -> None:
    with pytest.raises(ApplicationError) as caught:
        upload_check(
            data=files.pdf_many_pages(PDF_MAX_PAGES + 1), filename="a.pdf", kind="document"
        )
    assert caught.value.details == {"reason": "pdf_too_many_pages", "pages": PDF_MAX_PAGES}
    assert f"{PDF_MAX_PAGES} pages" in str(caught.value.message)


def test_an_object_stream_bomb_is_refused_within_the_decompression_limit() -> None:
    # given: 30 KB that inflate to 30 MB in an object stream a reader must decode
    data = files.pdf_object_stream_bomb()
    assert len(data) < 100_000

    # when
    tracemalloc.start()
    reason = _refused(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    # then
    assert reason == "pdf_too_complex"
    assert peak < 30_000_000


def test_a_pdf_with_too_many_objects_to_walk_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: a walk budget below what a one-page PDF needs
    monkeypatch.setattr("visas.uploads.PDF_MAX_NODES", 5)

    # then
    assert _refused(files.pdf_minimal()) == "pdf_too_complex"


def test_a_content_stream_is_never_inflated() -> None:
    # given: a page whose content inflates to 200 MB
    data = files.pdf_content_bomb()

    # when
    tracemalloc.start()
    started = time.monotonic()
    checked = upload_check(data=data, filename="a.pdf", kind="document")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    # then
    assert checked.pages == 1
    assert peak < 10_000_000
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "cut",
    [0.3, 0.6, 0.9],
)
def test_a_truncated_pdf_is_refused(cut: float) -> None:
    data = files.pdf_minimal(pages=2)
    assert _refused(data[: int(len(data) * cut)]) in {"pdf_damaged", "pdf_polyglot"}


def test_a_pdf_whose_cross_reference_table_cannot_be_found_is_refused() -> None:
    # given: startxref points into the header (non-strict pypdf would rebuild the table)
    good = files.pdf_minimal()
    head, _, tail = good.rpartition(b"startxref\n")
    broken = head + b"startxref\n9\n" + tail.split(b"\n", 1)[1]

    # then
    assert _refused(broken) == "pdf_damaged"


# --- the virus check -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "kind"),
    [(files.pdf_eicar_comment, "document"), (files.png_eicar_text, "photo")],
    ids=["pdf", "png"],
)
def test_a_file_the_virus_check_flags_is_refused(build: Callable[[], bytes], kind: str) -> None:
    # given: a file that passes every other check (the EICAR string is in a comment)
    data = build()

    # when
    with pytest.raises(ApplicationError) as caught:
        upload_check(data=data, filename="a.pdf", kind=kind)

    # then
    assert caught.value.details["reason"] == "infected"
    assert str(caught.value.message).startswith("This file was flagged by the virus check")


def test_the_stub_flags_eicar_and_nothing_else() -> None:
    stub = EicarStubScanner()
    assert stub.scan(b"prefix " + EICAR).clean is False
    assert stub.scan(b"prefix " + EICAR).name == "Eicar-Test-Signature"
    assert stub.scan(files.pdf_minimal()).clean is True
    assert stub.scan(EICAR[:-1]).clean is True


def test_the_scanner_is_the_one_the_setting_names(settings: SettingsWrapper) -> None:
    # given
    settings.CONSULATE_MALWARE_SCANNER = "tests.visas.test_uploads.FlagEverything"

    # when
    result = scan(files.jpeg())

    # then
    assert result.clean is False
    assert _refused(files.jpeg()) == "infected"


class FlagEverything:
    def scan(self, data: bytes) -> ScanResult:
        return ScanResult(clean=False, name="Everything")


# --- ClamAV over INSTREAM, against a small fake daemon ---------------------------------------


class _FakeClamd(socketserver.BaseRequestHandler):
    """Reads `zINSTREAM\\0` and the chunks like clamd, answers like clamd (EICAR = FOUND)."""

    received: list[bytes] = []

    @staticmethod
    def verdict(data: bytes) -> bytes:
        return b"stream: Eicar-Signature FOUND\0" if EICAR in data else b"stream: OK\0"

    def handle(self) -> None:
        conn = self.request
        command = _read_exactly(conn, len(b"zINSTREAM\0"))
        assert command == b"zINSTREAM\0"
        data = b""
        while True:
            (size,) = struct.unpack(">I", _read_exactly(conn, 4))
            if size == 0:
                break
            data += _read_exactly(conn, size)
        _FakeClamd.received.append(data)
        conn.sendall(self.verdict(data))


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    out = b""
    while len(out) < size:
        part = conn.recv(size - len(out))
        if not part:
            raise ConnectionError("closed")
        out += part
    return out


@pytest.fixture
def fake_clamd() -> Iterator[tuple[str, int]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _FakeClamd)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    _FakeClamd.received = []
    try:
        yield str(server.server_address[0]), int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_clamd_is_sent_the_whole_file_in_chunks(fake_clamd: tuple[str, int]) -> None:
    # given: a file of several chunks
    host, port = fake_clamd
    data = bytes(range(256)) * 1000

    # when
    result = ClamdScanner(host=host, port=port, timeout=5).scan(data)

    # then
    assert result.clean is True
    assert _FakeClamd.received == [data]


def test_clamd_names_what_it_found(fake_clamd: tuple[str, int]) -> None:
    host, port = fake_clamd
    result = ClamdScanner(host=host, port=port, timeout=5).scan(b"x" + EICAR)
    assert result.clean is False
    assert result.name == "Eicar-Signature"


def test_uploads_go_through_clamd_when_the_settings_say_so(
    fake_clamd: tuple[str, int], settings: SettingsWrapper
) -> None:
    # given
    host, port = fake_clamd
    settings.CONSULATE_MALWARE_SCANNER = "visas.scan.ClamdScanner"
    settings.CONSULATE_CLAMD_HOST = host
    settings.CONSULATE_CLAMD_PORT = port

    # then
    assert upload_check(data=files.pdf_minimal(), filename="a.pdf", kind="document").pages == 1
    assert _refused(files.pdf_eicar_comment()) == "infected"


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_scanner_that_cannot_be_reached_refuses_the_upload(
    settings: SettingsWrapper,
) -> None:
    # given: nothing listens on the port
    settings.CONSULATE_MALWARE_SCANNER = "visas.scan.ClamdScanner"
    settings.CONSULATE_CLAMD_HOST = "127.0.0.1"
    settings.CONSULATE_CLAMD_PORT = _unused_port()

    # then
    with pytest.raises(ScannerUnavailable):
        scan(files.pdf_minimal())
    assert _refused(files.pdf_minimal()) == "scan_unavailable"


def test_an_error_from_clamd_is_no_verdict() -> None:
    # given: a daemon that answers with an error
    class Erroring(_FakeClamd):
        @staticmethod
        def verdict(data: bytes) -> bytes:
            return b"INSTREAM size limit exceeded. ERROR\0"

    server = socketserver.TCPServer(("127.0.0.1", 0), Erroring)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[0], server.server_address[1]
        # then
        with pytest.raises(ScannerUnavailable, match="ERROR"):
            ClamdScanner(host=str(host), port=int(port), timeout=5).scan(b"small")
    finally:
        thread.join(5)
        server.server_close()
