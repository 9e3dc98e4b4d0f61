"""The virus check of an uploaded file: one function, `scan()`, and the scanner a setting names.

`CONSULATE_MALWARE_SCANNER` is the dotted path of a class with `scan(data) -> ScanResult`:

- `visas.scan.EicarStubScanner` (the default): development and tests. It flags the EICAR test
  string and nothing else, so the refusal path can be tried without a virus scanner installed.
- `visas.scan.ClamdScanner`: production. It streams the bytes to a ClamAV daemon with the
  INSTREAM command, over TCP (`CONSULATE_CLAMD_HOST`, `CONSULATE_CLAMD_PORT`) or a Unix socket
  (`CONSULATE_CLAMD_SOCKET`, which wins when set), waiting `CONSULATE_CLAMD_TIMEOUT` seconds.

Why no client library: the protocol is one command, length-prefixed chunks and a one-line
reply, about thirty lines with `socket`. The PyPI `clamd` package has had no release since
2014 and `pyclamd` none since 2017; a dependency for thirty lines would be one more thing to
audit and keep alive.

A scanner that cannot answer raises `ScannerUnavailable`; the caller refuses the upload
(fail closed) rather than keep a file nobody checked.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_SCANNER = "visas.scan.EicarStubScanner"

# The EICAR anti-virus test file (https://www.eicar.org): harmless, flagged by every scanner.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_NAME = "Eicar-Test-Signature"

# clamd's StreamMaxLength defaults to 25 MB, above the largest upload we take (15 MB).
CLAMD_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The scanner's word: `clean`, or the name of what it found (for the log, not the user)."""

    clean: bool
    name: str = ""


class ScannerUnavailable(Exception):
    """The scanner could not be reached or gave an answer we do not understand."""


class Scanner(Protocol):
    def scan(self, data: bytes) -> ScanResult: ...


def scan(data: bytes) -> ScanResult:
    """`data` checked by the scanner the settings name. Raises `ScannerUnavailable`."""
    return scanner_get().scan(data)


def scanner_get() -> Scanner:
    """A new instance of the configured scanner class (cheap: it holds settings, no socket)."""
    path = getattr(settings, "CONSULATE_MALWARE_SCANNER", DEFAULT_SCANNER)
    scanner: Scanner = import_string(path)()
    return scanner


class EicarStubScanner:
    """Development stub: flags the EICAR test string anywhere in the file, nothing else."""

    def scan(self, data: bytes) -> ScanResult:
        if EICAR in data:
            return ScanResult(clean=False, name=EICAR_NAME)
        return ScanResult(clean=True)


class ClamdScanner:
    """ClamAV's daemon, spoken to with INSTREAM (clamd(8), "INSTREAM"): `zINSTREAM\\0`, then
    chunks each prefixed with its length as a 4-byte big-endian integer, then a zero length;
    the reply is `stream: OK`, `stream: <name> FOUND` or `<message> ERROR`, ended by `\\0`."""

    def __init__(
        self,
        *,
        host: str | None = None,
        port: int | None = None,
        unix_socket: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.host = host or getattr(settings, "CONSULATE_CLAMD_HOST", "127.0.0.1")
        self.port = port or int(getattr(settings, "CONSULATE_CLAMD_PORT", 3310))
        self.unix_socket = unix_socket or getattr(settings, "CONSULATE_CLAMD_SOCKET", "")
        self.timeout = timeout or float(getattr(settings, "CONSULATE_CLAMD_TIMEOUT", 30))

    def scan(self, data: bytes) -> ScanResult:
        try:
            with self._connect() as conn:
                conn.sendall(b"zINSTREAM\0")
                for start in range(0, len(data), CLAMD_CHUNK_BYTES):
                    chunk = data[start : start + CLAMD_CHUNK_BYTES]
                    conn.sendall(struct.pack(">I", len(chunk)) + chunk)
                conn.sendall(struct.pack(">I", 0))
                reply = _reply_read(conn)
        except OSError as error:
            raise ScannerUnavailable(f"clamd: {error}") from error
        return _reply_parse(reply)

    def _connect(self) -> socket.socket:
        if self.unix_socket:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(self.timeout)
            try:
                conn.connect(self.unix_socket)
            except OSError:
                conn.close()
                raise
            return conn
        return socket.create_connection((self.host, self.port), timeout=self.timeout)


def _reply_read(conn: socket.socket, limit: int = 4096) -> bytes:
    """The reply up to its terminating NUL (or the daemon closing the connection)."""
    reply = b""
    while b"\0" not in reply and len(reply) < limit:
        part = conn.recv(limit)
        if not part:
            break
        reply += part
    return reply.split(b"\0", 1)[0]


def _reply_parse(reply: bytes) -> ScanResult:
    text = reply.decode("utf-8", "replace").strip()
    if text.endswith(" OK"):
        return ScanResult(clean=True)
    if text.endswith(" FOUND"):
        # "stream: Eicar-Test-Signature FOUND"
        name = text.removesuffix(" FOUND").split(": ", 1)[-1]
        return ScanResult(clean=False, name=name)
    # "INSTREAM size limit exceeded. ERROR", or nothing: no verdict
    raise ScannerUnavailable(f"clamd answered {text!r}")
