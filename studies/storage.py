"""The archive's file storage: Django's storage API with durable, never-overwriting writes.

A stored file is written to a temporary name in its final folder, fsynced, then linked
to its key (which fails if the key exists) and the folder fsynced: a crash leaves either
nothing or a complete file, never a half-written one under a real key. A file that already
holds exactly the bytes to store (a C-STORE spool file) is fsynced and linked in place.
"""
from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, storages

from studies.dicomfile import is_valid_uid


def dicom_storage() -> FileSystemStorage:
    return storages["dicom"]


def instance_key(study_uid: str, series_uid: str, sop_uid: str) -> str:
    """The storage key of a new file: built from validated UIDs only, never from a client's file name.

    A random suffix makes every write a new key, so a concurrent or rejected store can
    never clobber the file an index row points to.
    """
    for uid in (study_uid, series_uid, sop_uid):
        if not is_valid_uid(uid):
            raise ValueError(f"not a valid UID: {uid!r}")
    fanout = hashlib.sha1(study_uid.encode()).hexdigest()[:2]
    return f"{fanout}/{study_uid}/{series_uid}/{sop_uid}.{uuid.uuid4().hex[:12]}.dcm"


class DicomFileStorage(FileSystemStorage):
    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        # Keys are unique by construction; renaming one silently would orphan the index row.
        return name

    def _save(self, name: str, content: File) -> str:
        full_path = Path(self.path(name))
        full_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = full_path.with_name(f".tmp-{uuid.uuid4().hex}")
        try:
            with open(temporary, "wb") as out:
                for chunk in content.chunks():
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.link(temporary, full_path)  # atomic, and refuses to replace an existing file
        finally:
            temporary.unlink(missing_ok=True)
        _fsync_directory(full_path.parent)
        return name

    def save_by_linking(self, name: str, source: Path) -> str:
        """Store the file at ``source`` under ``name`` without copying it: fsync it, hard-link it
        to its key (refuses an existing key), fsync the folder. The caller still owns ``source``.

        Raises OSError (EXDEV when ``source`` is on another filesystem: copy it with ``save``).
        A failure leaves nothing under ``name``.
        """
        full_path = Path(self.path(name))
        full_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(source, os.O_RDONLY)
        try:
            # A spool file is private (0600); the archive's files get the mode a copy would get.
            os.fchmod(fd, self.file_permissions_mode if self.file_permissions_mode is not None else 0o644)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(source, full_path)
        try:
            _fsync_directory(full_path.parent)
        except BaseException:
            full_path.unlink(missing_ok=True)
            raise
        return name


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
