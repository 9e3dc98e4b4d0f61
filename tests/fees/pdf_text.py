"""The text a person reads in a reportlab PDF, in Unicode: what copying it out gives.

reportlab embeds subsets of DejaVu Sans with one-byte codes for each subset and a ToUnicode map
per font (Turkish letters, ¥ and € get codes of their own), so the page's bytes are not its
text. This reads the fonts' ToUnicode maps and the page's text operators (`/F2+0 10 Tf`, `(...)
Tj`), and answers one string per text run, top to bottom as drawn. Ghostscript's text output
drops every character outside ASCII, so it cannot check a Turkish receipt."""

from __future__ import annotations

import base64
import re
import zlib

_OBJECT = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)
_RUN = re.compile(rb"/(\S+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj", re.S)
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _stream(body: bytes) -> bytes:
    header, rest = body.split(b"stream", 1)
    data = rest.lstrip(b"\r\n")
    data = data[: data.rindex(b"endstream")]
    if b"/ASCII85Decode" in header:
        data = base64.a85decode(data.strip(), adobe=True)
    if b"/FlateDecode" in header:
        data = zlib.decompress(data)
    return data


def _unescape(literal: bytes) -> bytes:
    def one(match: re.Match[bytes]) -> bytes:
        token = match.group(1)
        if token[:1].isdigit():
            return bytes([int(token, 8)])
        return _ESCAPES.get(token, token)

    return _ESCAPE.sub(one, literal)


def _to_unicode(cmap: bytes) -> dict[int, str]:
    table = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
        for code, text in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            table[int(code, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be")
    return table


def pdf_text(pdf: bytes) -> list[str]:
    objects = {int(number): body for number, body in _OBJECT.findall(pdf)}
    maps: dict[bytes, dict[int, str] | None] = {}
    for body in objects.values():
        for name, ref in re.findall(rb"/(F[\w+]*) (\d+) 0 R", body):
            font = objects.get(int(ref), b"")
            unicode_ref = re.search(rb"/ToUnicode (\d+) 0 R", font)
            maps[name] = (
                _to_unicode(_stream(objects[int(unicode_ref.group(1))])) if (unicode_ref) else None
            )
    runs: list[str] = []
    for body in objects.values():
        for contents in re.findall(rb"/Contents (\d+) 0 R", body):
            table: dict[int, str] | None = None
            for font, literal in _RUN.findall(_stream(objects[int(contents)])):
                if font:
                    table = maps.get(font)
                    continue
                raw = _unescape(literal)
                runs.append(
                    raw.decode("latin-1")
                    if table is None
                    else "".join(table.get(byte, chr(byte)) for byte in raw)
                )
    return runs
