"""Media types for DICOMweb: Accept parsing, a streaming multipart/related writer (WADO-RS)
and a streaming multipart/related reader that spools each part to disk (STOW-RS).

Neither direction ever holds a whole body in memory: the writer yields the stored files in
chunks, the reader keeps at most one chunk plus the length of the boundary (RFC 2046 5.1,
RFC 2387).
"""
from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

READ_CHUNK = 256 * 1024
MAX_HEADER_BYTES = 16 * 1024
MAX_PARTS = 20000  # like LUMEN_ZIP_MAX_ENTRIES: a body of empty parts must not become a million files


@dataclass(frozen=True)
class MediaType:
    """One media type or Accept media range, lower-cased, parameters unquoted."""

    type: str
    params: dict = field(default_factory=dict)

    @property
    def q(self) -> float:
        try:
            return float(self.params.get("q", "1"))
        except ValueError:
            return 0.0

    def matches(self, candidate: str) -> bool:
        """Does this range (e.g. ``image/*``) cover the concrete type ``candidate``?"""
        major, _, minor = self.type.partition("/")
        c_major, _, c_minor = candidate.partition("/")
        return major == "*" or (major == c_major and minor in ("*", c_minor))


def parse_media_type(text: str) -> MediaType:
    kind, _, rest = text.partition(";")
    params = {}
    for piece in _split(rest, ";"):
        name, _, value = piece.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\"', '"')
        if name.strip():
            params[name.strip().lower()] = value
    return MediaType(kind.strip().lower(), params)


@functools.lru_cache(maxsize=256)
def parse_accept(header: str | None) -> tuple[MediaType, ...]:
    """The Accept header as media ranges, best first (RFC 9110 12.5.1); none means ``*/*``.

    Parsed once per process for each header: a viewer sends the same one with each of its
    hundreds of frame requests, and the parse was ~6 % of such a request's CPU."""
    ranges = [parse_media_type(item) for item in _split(header or "", ",") if item.strip()]
    ranges = [r for r in ranges if r.q > 0]
    if not header or not header.strip():
        return (MediaType("*/*"),)
    return tuple(sorted(ranges, key=lambda r: -r.q))


def request_accept(request) -> tuple[MediaType, ...]:
    """What the client accepts: the ``accept`` query parameter replaces the header (PS3.18 8.3.3.1)."""
    return parse_accept(request.GET.get("accept") or request.headers.get("Accept"))


def _split(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside double quotes (type="application/dicom" has no commas, but be safe)."""
    pieces, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return [p for p in pieces if p.strip()]


# --- Writing -----------------------------------------------------------------------------------


@dataclass
class Part:
    headers: dict
    body: Iterable[bytes]


def new_boundary() -> str:
    return f"lumen-{uuid.uuid4().hex}"


def content_type(subtype: str, boundary: str, **params: str) -> str:
    extra = "".join(f'; {name.replace("_", "-")}="{value}"' for name, value in params.items())
    return f'multipart/related; type="{subtype}"; boundary={boundary}{extra}'


def write_multipart(parts: Iterable[Part], boundary: str) -> Iterator[bytes]:
    """The bytes of a multipart/related body, one part at a time (RFC 2046 5.1.1)."""
    delimiter = f"--{boundary}".encode("ascii")
    for part in parts:
        head = "".join(f"{name}: {value}\r\n" for name, value in part.headers.items())
        yield delimiter + b"\r\n" + head.encode("latin-1") + b"\r\n"
        for chunk in part.body:
            if chunk:
                yield chunk
        yield b"\r\n"
    yield delimiter + b"--\r\n"


def file_chunks(opened, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
    """Read an opened file in chunks and close it, even when the client hangs up half way."""
    try:
        while chunk := opened.read(chunk_size):
            yield chunk
    finally:
        opened.close()


# --- Reading -----------------------------------------------------------------------------------


class MultipartError(Exception):
    """The body is not a well-formed multipart/related body."""


class BodyTooLarge(Exception):
    """The body is larger than the configured limit."""


@dataclass
class SpooledPart:
    headers: dict  # lower-cased names
    path: Path
    size: int

    @property
    def media_type(self) -> MediaType | None:
        value = self.headers.get("content-type")
        return parse_media_type(value) if value else None


def spool_parts(stream, boundary: str, folder: Path, *, max_bytes: int) -> list[SpooledPart]:
    """Read a multipart body from ``stream`` (anything with ``read(n)``), one file per part in ``folder``.

    Raises MultipartError for a malformed body and BodyTooLarge past ``max_bytes``.
    """
    return _Reader(stream, boundary.encode("latin-1"), folder, max_bytes).read_all()


class _Reader:
    def __init__(self, stream, boundary: bytes, folder: Path, max_bytes: int):
        if not boundary or len(boundary) > 70:
            raise MultipartError("the multipart boundary must be 1 to 70 characters (RFC 2046 5.1.1)")
        self.stream = stream
        self.delimiter = b"--" + boundary
        self.body_end = b"\r\n" + self.delimiter
        self.folder = folder
        self.max_bytes = max_bytes
        self.buffer = b""
        self.total = 0
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(READ_CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.total += len(chunk)
        if self.total > self.max_bytes:
            raise BodyTooLarge(f"the request body is larger than {self.max_bytes} bytes")
        self.buffer += chunk
        return True

    def read_all(self) -> list[SpooledPart]:
        self._skip_preamble()
        parts: list[SpooledPart] = []
        while self._after_delimiter_continues():
            if len(parts) >= MAX_PARTS:
                raise MultipartError(f"more than {MAX_PARTS} parts in one request")
            headers = self._headers()
            path = self.folder / f"part-{len(parts):05d}.bin"
            size = self._body_to(path)
            parts.append(SpooledPart(headers, path, size))
        return parts

    def _skip_preamble(self) -> None:
        while True:
            at = self.buffer.find(self.delimiter)
            while at > 0 and self.buffer[at - 2 : at] != b"\r\n":
                at = self.buffer.find(self.delimiter, at + 1)
            if at >= 0:
                self.buffer = self.buffer[at + len(self.delimiter) :]
                return
            # Keep a tail long enough to hold a delimiter cut in two by the read.
            self.buffer = self.buffer[-(len(self.body_end)) :]
            if not self._fill():
                raise MultipartError("the body does not contain the multipart boundary")

    def _after_delimiter_continues(self) -> bool:
        """Just past a delimiter: ``--`` closes the body, otherwise a line end opens a part."""
        while len(self.buffer) < 2 and self._fill():
            pass
        if self.buffer[:2] == b"--":
            return False
        while (end := self.buffer.find(b"\r\n")) < 0:
            if len(self.buffer) > MAX_HEADER_BYTES or not self._fill():
                raise MultipartError("a multipart delimiter line does not end")
        if self.buffer[:end].strip(b" \t"):
            raise MultipartError("unexpected bytes after a multipart delimiter")
        self.buffer = self.buffer[end + 2 :]
        return True

    def _headers(self) -> dict:
        while True:
            if self.buffer.startswith(b"\r\n"):
                self.buffer = self.buffer[2:]
                return {}
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self.buffer) > MAX_HEADER_BYTES or not self._fill():
                raise MultipartError("the headers of a part do not end")
        block, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
        headers = {}
        for line in block.decode("latin-1").split("\r\n"):
            name, colon, value = line.partition(":")
            if not colon:
                raise MultipartError(f"malformed part header line: {line[:80]!r}")
            headers[name.strip().lower()] = value.strip()
        return headers

    def _body_to(self, path: Path) -> int:
        size = 0
        keep = len(self.body_end) - 1
        with open(path, "wb") as out:
            while True:
                at = self.buffer.find(self.body_end)
                if at >= 0:
                    out.write(self.buffer[:at])
                    size += at
                    self.buffer = self.buffer[at + len(self.body_end) :]
                    return size
                if len(self.buffer) > keep:
                    out.write(self.buffer[:-keep])
                    size += len(self.buffer) - keep
                    self.buffer = self.buffer[-keep:]
                if not self._fill():
                    raise MultipartError("the body ends inside a part (no closing boundary)")
