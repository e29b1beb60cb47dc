"""Safe ZIP expansion, for web uploads and the import command alike.

A ZIP is hostile input. Before anything is written its central directory is checked: no entry
may leave the extraction folder (``../``, absolute paths, drive letters, backslashes) or be a
symbolic link, and the entry count and declared sizes must be within the limits. Then every
entry is streamed to a server-generated file name (entry names are never used to build a
path) while the bytes actually produced are counted, because header sizes can lie: an entry
that inflates past the per-entry ratio, or a total past the size limit, is a zip bomb.

``expand_zip`` is all or nothing for the archive as a whole: when it raises ``ZipRejected``
the extraction folder and everything in it are gone. Problems confined to one entry
(encrypted, corrupt data, unsupported compression) are reported on that entry instead.
"""
from __future__ import annotations

import re
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

# Small reads keep zipfile's read-ahead of compressed bytes small, so the count of compressed
# bytes really consumed (``_CountingFile``) stays close to the truth.
CHUNK_SIZE = 64 * 1024
# Small entries may legitimately compress very well (a blank image, a header-only object);
# the ratio test starts once an entry has produced this much, as Apache POI's ZipSecureFile does.
RATIO_GRACE_BYTES = 1024 * 1024
_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")


class ZipRejected(Exception):
    """The whole ZIP is refused; the message says why, for the user."""


@dataclass(frozen=True)
class ZipEntry:
    """One file entry of a ZIP and what became of it."""

    name: str  # the entry's name inside the ZIP: shown to the user, never used as a path
    path: Path | None  # the extracted file (server-generated name), None when not extracted
    size: int = 0
    status: str = "extracted"  # extracted, skipped (encrypted) or rejected (corrupt entry)
    reason: str = ""


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int
    max_total_bytes: int
    max_ratio: int

    @classmethod
    def from_settings(cls) -> "ZipLimits":
        return cls(settings.LUMEN_ZIP_MAX_ENTRIES, settings.LUMEN_ZIP_MAX_UNCOMPRESSED_BYTES, settings.LUMEN_ZIP_MAX_RATIO)


def is_zip(path: Path) -> bool:
    """True for a ZIP archive (by its signature, not its name); a DICOM file is never a ZIP.

    A DICOM preamble may hold a ZIP header (a polyglot file, CVE-2019-11687); "DICM" at
    offset 128 (PS3.10 7.1) makes it a DICOM file, which the funnel handles.
    """
    try:
        with open(path, "rb") as fp:
            head = fp.read(132)
    except OSError:
        return False
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06") and head[128:132] != b"DICM"


def is_ignored(name: str) -> bool:
    """Folder entries and the macOS Finder's metadata (__MACOSX/, ._ AppleDouble files) are not content."""
    last = name.rstrip("/").rsplit("/", 1)[-1]
    return name.endswith("/") or name.startswith("__MACOSX/") or last.startswith("._")


def expand_zip(zip_path: Path, into: Path, limits: ZipLimits | None = None) -> list[ZipEntry]:
    """Extract the file entries of ``zip_path`` into the new folder ``into``, safely.

    Returns one ZipEntry per file entry (folders and macOS metadata left out), in ZIP order.
    Raises ZipRejected, leaving no ``into`` folder behind, when the ZIP must be refused whole.
    """
    limits = limits or ZipLimits.from_settings()
    with open(zip_path, "rb") as raw:
        counted = _CountingFile(raw)
        try:
            archive = zipfile.ZipFile(counted)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
            raise ZipRejected(f"ZIP rejected: the file is not a readable ZIP archive ({exc})") from None
        with archive:
            infos = archive.infolist()
            _check_directory(infos, limits)
            into.mkdir(parents=True)
            try:
                return _extract_all(archive, counted, infos, into, limits)
            except BaseException:
                shutil.rmtree(into, ignore_errors=True)
                raise


class _CountingFile:
    """The ZIP file as zipfile sees it, counting the bytes really read: a header's
    compressed size is a claim, the bytes consumed are a fact."""

    def __init__(self, fp):
        self.fp = fp
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        data = self.fp.read(size)
        self.bytes_read += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.fp.seek(offset, whence)

    def tell(self) -> int:
        return self.fp.tell()

    def seekable(self) -> bool:
        return True


def _check_directory(infos: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    """Checks on the central directory alone, before a single byte is written."""
    if len(infos) > limits.max_entries:
        raise ZipRejected(f"ZIP rejected: it has {len(infos)} entries, more than the limit of {limits.max_entries}")
    declared_total = 0
    for info in infos:
        problem = _unsafe_name(info.filename)
        if problem:
            raise ZipRejected(f"ZIP rejected: entry {info.filename!r} {problem}")
        if stat.S_ISLNK(info.external_attr >> 16):
            # The high 16 bits of the external attributes hold the Unix mode (APPNOTE 4.4.15).
            raise ZipRejected(f"ZIP rejected: entry {info.filename!r} is a symbolic link")
        declared_total += info.file_size
    if declared_total > limits.max_total_bytes:
        raise ZipRejected(
            f"ZIP rejected: it expands to {human_size(declared_total)}, more than the limit of {human_size(limits.max_total_bytes)}"
        )


def _unsafe_name(name: str) -> str:
    if "\\" in name:
        return "contains a backslash (a Windows path that could leave the extraction folder)"
    if name.startswith("/"):
        return "is an absolute path"
    if _DRIVE_LETTER.match(name):
        return "starts with a drive letter"
    if ".." in name.split("/"):
        return "points outside the extraction folder (..)"
    return ""


def _extract_all(
    archive: zipfile.ZipFile, counted: _CountingFile, infos: list[zipfile.ZipInfo], into: Path, limits: ZipLimits
) -> list[ZipEntry]:
    entries: list[ZipEntry] = []
    total = 0
    for index, info in enumerate(infos):
        if info.is_dir() or is_ignored(info.filename):
            continue
        if info.flag_bits & 0x1:
            # General purpose bit 0: the entry is encrypted (APPNOTE 4.4.4); there is no password to use.
            entries.append(ZipEntry(info.filename, None, info.file_size, "skipped", "encrypted (password-protected) ZIP entry, not opened"))
            continue
        target = into / f"{index:06d}"
        try:
            written = _extract_one(archive, counted, info, target, limits, total)
        except _EntryUnreadable as exc:
            target.unlink(missing_ok=True)
            entries.append(ZipEntry(info.filename, None, info.file_size, "rejected", str(exc)))
            continue
        total += written
        entries.append(ZipEntry(info.filename, target, written))
    return entries


class _EntryUnreadable(Exception):
    pass


def _extract_one(
    archive: zipfile.ZipFile, counted: _CountingFile, info: zipfile.ZipInfo, target: Path, limits: ZipLimits, total_before: int
) -> int:
    """Stream one entry to ``target``, counting the bytes it really produces and consumes."""
    written = 0
    try:
        with archive.open(info) as source, open(target, "xb") as out:
            start = counted.bytes_read
            while chunk := source.read(CHUNK_SIZE):
                written += len(chunk)
                compressed = max(counted.bytes_read - start, 1)
                if written > RATIO_GRACE_BYTES and written > compressed * limits.max_ratio:
                    raise ZipRejected(
                        f"ZIP rejected: entry {info.filename!r} expands more than {limits.max_ratio}× "
                        "— looks like a zip bomb"
                    )
                if total_before + written > limits.max_total_bytes:
                    raise ZipRejected(
                        f"ZIP rejected: its entries expand to more than the limit of {human_size(limits.max_total_bytes)}"
                    )
                out.write(chunk)
    except NotImplementedError as exc:
        raise _EntryUnreadable(f"the ZIP entry uses a compression method Lumen cannot read ({exc})") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _EntryUnreadable(f"the ZIP entry is corrupt ({exc})") from None
    return written


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):,.0f} MB"
    if size >= 1024:
        return f"{size / 1024:,.0f} kB"
    return f"{size} bytes"
