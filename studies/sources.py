"""Where files to ingest come from: files, folders, ZIPs and DICOMDIR media, and what the
funnel's answer means for the person who sent them.

The web upload (uploads.py) and the import command share ``classify`` and the ZIP rules;
the command also uses ``collect`` to turn its arguments into a flat list of files.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pydicom
from django.conf import settings
from pydicom.errors import InvalidDicomError

from studies.dicomfile import MEDIA_STORAGE_DIRECTORY
from studies.ingest import IngestResult, Outcome
from studies.zipsafe import ZipEntry, ZipRejected, expand_zip, is_ignored, is_zip

# The four answers a person gets for one file (UploadItem.Status uses the same words).
STORED = "stored"
DUPLICATE = "duplicate"
REJECTED = "rejected"
SKIPPED = "skipped"

NESTED_ZIP = "a ZIP inside a ZIP is not opened; extract it and send its content"
# Funnel codes that mean "this is not an image for the archive" rather than "a broken image".
SKIPPED_CODES = {"not-dicom", "dicomdir"}


def classify(result: IngestResult) -> tuple[str, str]:
    """The funnel's answer as (status, reason): stored, duplicate, rejected or skipped."""
    if result.outcome is Outcome.STORED:
        return STORED, ""
    if result.outcome is Outcome.ALREADY_STORED:
        return DUPLICATE, result.reason
    if result.code in SKIPPED_CODES:
        return SKIPPED, result.reason
    return REJECTED, result.reason


def zip_entry_verdict(entry: ZipEntry) -> tuple[str, str] | None:
    """What to say of a ZIP entry without ingesting it, or None when it goes to the funnel."""
    if entry.path is None:
        return (SKIPPED if entry.status == "skipped" else REJECTED), entry.reason
    if is_zip(entry.path):
        return SKIPPED, NESTED_ZIP
    return None


# --- The import command's sources -----------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One file to ingest (``path``), or one already decided (``status`` and ``reason``)."""

    name: str
    path: Path | None = None
    status: str = ""
    reason: str = ""


@contextmanager
def collect(paths: list[Path]) -> Iterator[list[Source]]:
    """Every file under ``paths`` (files, folders, ZIPs, DICOMDIRs), in a stable order.

    ZIPs are expanded into a scratch folder under the spool, removed on exit; the
    given files and folders are only read.
    """
    work = Path(settings.SPOOL_DIR) / "import"
    work.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="import-", dir=work))
    try:
        sources: list[Source] = []
        for path in paths:
            sources.extend(_sources_of(Path(path), scratch))
        yield sources
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _sources_of(path: Path, scratch: Path) -> Iterator[Source]:
    if path.is_dir():
        for file in _walk(path):
            yield from _file_sources(file, str(file), scratch)
    elif path.is_file():
        if is_dicomdir(path):
            yield from dicomdir_sources(path)
        else:
            yield from _file_sources(path, str(path), scratch)
    else:
        yield Source(str(path), status=REJECTED, reason="no such file or folder")


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if not is_ignored(name):
                yield Path(root) / name


def _file_sources(path: Path, name: str, scratch: Path) -> Iterator[Source]:
    if not is_zip(path):
        yield Source(name, path)
        return
    into = Path(tempfile.mkdtemp(dir=scratch)) / "x"
    try:
        entries = expand_zip(path, into)
    except ZipRejected as exc:
        yield Source(name, status=REJECTED, reason=str(exc))
        return
    for entry in entries:
        verdict = zip_entry_verdict(entry)
        if verdict is None:
            yield Source(f"{name}/{entry.name}", entry.path)
        else:
            yield Source(f"{name}/{entry.name}", status=verdict[0], reason=verdict[1])


# --- DICOMDIR (PS3.10 8, PS3.3 F) -------------------------------------------------------------


def is_dicomdir(path: Path) -> bool:
    """PS3.10 8.6: the media directory is the file with File ID "DICOMDIR"; its SOP class confirms it."""
    if path.name.upper() != "DICOMDIR":
        return False
    try:
        meta = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID"]).file_meta
    except (InvalidDicomError, OSError, ValueError, EOFError):
        return False
    return str(meta.get("MediaStorageSOPClassUID", "")) == MEDIA_STORAGE_DIRECTORY


def dicomdir_sources(path: Path) -> Iterator[Source]:
    """The DICOMDIR itself (the funnel skips it with its reason) and every file it references."""
    yield Source(str(path), path)
    root = path.parent.resolve()
    try:
        records = pydicom.dcmread(path).get("DirectoryRecordSequence", [])
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        yield Source(str(path), status=REJECTED, reason=f"the DICOMDIR cannot be read: {exc}")
        return
    seen: set[Path] = set()
    for record in records:
        file_id = record.get("ReferencedFileID")
        if not file_id:
            continue  # PATIENT, STUDY and SERIES records reference no file
        components = [str(file_id)] if isinstance(file_id, str) else [str(c) for c in file_id]
        shown = "/".join(components)
        target, problem = resolve_file_id(root, components)
        if problem:
            yield Source(f"{path.parent}/{shown}", status=REJECTED, reason=problem)
        elif target not in seen:
            seen.add(target)
            yield Source(str(target), target)


def resolve_file_id(root: Path, components: list[str]) -> tuple[Path | None, str]:
    """The file a ReferencedFileID names, inside the DICOMDIR's folder and nowhere else.

    PS3.10 8.5 / PS3.12: File ID components are at most 8 characters of A-Z, 0-9 and _,
    so anything like ``..``, a separator or an empty component is refused outright.
    """
    if not components or any(not c or c in {".", ".."} or "/" in c or "\\" in c or ":" in c for c in components):
        return None, f"the DICOMDIR references {'/'.join(components)!r}, a path outside its folder"
    target = root.joinpath(*components)
    if not target.exists():
        target = _case_insensitive(root, components) or target
    resolved = target.resolve()
    if not resolved.is_relative_to(root):
        return None, f"the DICOMDIR references {'/'.join(components)!r}, a path outside its folder"
    if not resolved.is_file():
        return None, "referenced by the DICOMDIR but missing from the media"
    return resolved, ""


def _case_insensitive(root: Path, components: list[str]) -> Path | None:
    # File IDs are upper case, but media copied by some tools end up with lower-case names.
    current = root
    for component in components:
        try:
            match = next((child for child in current.iterdir() if child.name.upper() == component.upper()), None)
        except OSError:
            return None
        if match is None:
            return None
        current = match
    return current
