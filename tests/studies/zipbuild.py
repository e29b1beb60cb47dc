"""Building ZIPs for the upload and import tests, hostile ones included.

Python's zipfile cannot write encrypted entries, so ``encrypted_zip`` writes the archive by
hand with traditional PKWARE encryption (APPNOTE 6.1, "ZipCrypto"); zipfile itself can read it
back with the password, which is how the tests know the encryption is real.
"""
from __future__ import annotations

import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path


def zip_of(path: Path, entries, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """A ZIP at ``path`` from (name or ZipInfo, bytes or Path) pairs."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in entries:
            if isinstance(data, Path):
                data = data.read_bytes()
            if isinstance(name, zipfile.ZipInfo):
                name.compress_type = compression
            archive.writestr(name, data)
    return path


def symlink_entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix: the high 16 bits of external_attr are st_mode
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def _crc_step(crc: int, byte: int) -> int:
    # One step of the raw CRC-32 register (zlib.crc32 adds pre- and post-inversion).
    return zlib.crc32(bytes([byte]), crc ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


class _ZipCrypto:
    def __init__(self, password: bytes):
        self.keys = [0x12345678, 0x23456789, 0x34567890]
        for byte in password:
            self._update(byte)

    def _update(self, byte: int) -> None:
        k0, k1, k2 = self.keys
        k0 = _crc_step(k0, byte)
        k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k2 = _crc_step(k2, k1 >> 24)
        self.keys = [k0, k1, k2]

    def encrypt(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            temp = (self.keys[2] | 2) & 0xFFFF
            out.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
            self._update(byte)
        return bytes(out)


def encrypted_zip(path: Path, entries: list[tuple[str, bytes, bytes | None]]) -> Path:
    """A ZIP of stored entries (name, data, password or None for a plain entry)."""
    local, central = bytearray(), bytearray()
    for name, data, password in entries:
        raw_name = name.encode()
        crc = zlib.crc32(data)
        payload, flags = data, 0
        if password is not None:
            # 12-byte encryption header whose last byte is the CRC's high byte (APPNOTE 6.1.6).
            header = os.urandom(11) + bytes([crc >> 24])
            payload, flags = _ZipCrypto(password).encrypt(header + data), 0x1
        offset = len(local)
        local += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, 0, 0, 0x21, crc, len(payload), len(data), len(raw_name), 0)
        local += raw_name + payload
        central += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, 0, 0, 0x21, crc, len(payload), len(data), len(raw_name), 0, 0, 0, 0,
            0o644 << 16, offset,
        )
        central += raw_name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(local), 0)
    path.write_bytes(bytes(local + central + end))
    return path
