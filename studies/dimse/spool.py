"""Where C-STORE datasets are written while they arrive.

With ``_config.STORE_RECV_CHUNKED_DATASET`` pynetdicom writes every incoming dataset
(preamble, File Meta, then the dataset bytes as received) to a ``NamedTemporaryFile``
created without a ``dir``, i.e. in the system temp folder, which may be a small tmpfs and is
not ours to fill. ``install`` points that one call at our spool folder instead, and records
each file on the association receiving it, so that a transfer cut off half-way (abort,
network timeout) leaves nothing behind: the association deletes its files when it ends.
"""
from __future__ import annotations

import functools
import logging
import tempfile
import threading
import time
from pathlib import Path

from pynetdicom import _config, dimse_messages

logger = logging.getLogger(__name__)

PREFIX = "cstore-"


def install(folder: Path) -> None:
    """Make pynetdicom spool received datasets to ``folder`` instead of decoding them in memory."""
    folder.mkdir(parents=True, exist_ok=True)
    _config.STORE_RECV_CHUNKED_DATASET = True
    # dimse_messages did `from tempfile import NamedTemporaryFile`; the C-STORE receive path
    # (DIMSEMessage.decode_msg) is its only caller, so replacing the module's name is enough.
    dimse_messages.NamedTemporaryFile = functools.partial(_spool_file, folder)


def _spool_file(folder: Path, **kwargs):
    kwargs.setdefault("prefix", PREFIX)
    handle = tempfile.NamedTemporaryFile(dir=folder, **kwargs)
    # decode_msg runs in the association's DUL thread, which knows its association.
    assoc = getattr(threading.current_thread(), "assoc", None)
    files = getattr(assoc, "spool_files", None)
    if files is not None:
        files.add(Path(handle.name))
    return handle


def remove(paths: set[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
    paths.clear()


def remove_stale(folder: Path, older_than: float) -> int:
    """Delete spool files left by a listener that died (files still being written are newer)."""
    cutoff = time.time() - older_than
    removed = 0
    for path in folder.glob(f"{PREFIX}*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    if removed:
        logger.warning("removed %d stale C-STORE spool files from %s", removed, folder)
    return removed
