"""Frames of a stored instance's pixel data, for WADO-RS RetrieveFrames and pixel bulk data.

Two representations (PS3.18 8.7.3.3.2, 8.7.3.5):
- native: uncompressed little-endian bytes. Native Little Endian files are sliced straight
  from disk, one frame at a time; anything else (big endian, deflated, compressed) is decoded
  with pydicom and pylibjpeg, one frame at a time.
- stored: the compressed frame exactly as the file holds it (fragments joined, PS3.5 A.4),
  for a client that accepts the compressed media type.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.encaps import get_frame
from pydicom.filereader import _at_pixel_data, read_partial
from pydicom.pixels import get_decoder, pixel_array
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

NATIVE_LITTLE_ENDIAN = {ImplicitVRLittleEndian, ExplicitVRLittleEndian}
READ_CHUNK = 256 * 1024
PIXEL_TAGS = {(0x7FE0, 0x0010), (0x7FE0, 0x0008), (0x7FE0, 0x0009)}  # (float / double float) pixel data

# PS3.18 Table 8.7.3-2: the media type of each compressed transfer syntax for frames.
MEDIA_TYPES = {
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.51": "image/jpeg",
    "1.2.840.10008.1.2.4.57": "image/jpeg",
    "1.2.840.10008.1.2.4.70": "image/jpeg",
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.4.92": "image/jpx",
    "1.2.840.10008.1.2.4.93": "image/jpx",
    "1.2.840.10008.1.2.4.201": "image/jphc",
    "1.2.840.10008.1.2.4.202": "image/jphc",
    "1.2.840.10008.1.2.4.203": "image/jphc",
    "1.2.840.10008.1.2.5": "image/dicom-rle",
    "1.2.840.10008.1.2.4.100": "video/mpeg",
    "1.2.840.10008.1.2.4.101": "video/mpeg",
    "1.2.840.10008.1.2.4.102": "video/mp4",
    "1.2.840.10008.1.2.4.103": "video/mp4",
    "1.2.840.10008.1.2.4.104": "video/mp4",
    "1.2.840.10008.1.2.4.105": "video/mp4",
    "1.2.840.10008.1.2.4.106": "video/mp4",
    "1.2.840.10008.1.2.4.107": "video/H265",
    "1.2.840.10008.1.2.4.108": "video/H265",
}


class NoPixelData(Exception):
    pass


@dataclass
class PixelData:
    """Where the pixel data of one stored file is, and how it is encoded."""

    path: Path
    transfer_syntax: str
    value_offset: int | None  # where the value starts in the file; None when it cannot be sliced
    number_of_frames: int
    frame_length: int  # bytes per native frame (0 when unknown)
    bits_allocated: int
    extended_offsets: tuple | None

    @property
    def encapsulated(self) -> bool:
        return UID(self.transfer_syntax).is_encapsulated

    @property
    def can_decode(self) -> bool:
        if not self.encapsulated:
            return True
        try:
            return get_decoder(self.transfer_syntax).is_available
        except NotImplementedError:
            return False

    def stored_frame(self, index: int) -> bytes:
        """The compressed frame ``index`` (0-based) as stored."""
        with open(self.path, "rb") as fp:
            fp.seek(self.value_offset)
            return get_frame(fp, index, number_of_frames=self.number_of_frames, extended_offsets=self.extended_offsets)

    def native_frame(self, index: int) -> Iterator[bytes]:
        """Frame ``index`` (0-based) as uncompressed little-endian bytes, in chunks."""
        if self.transfer_syntax in NATIVE_LITTLE_ENDIAN and self.value_offset is not None and self.bits_allocated % 8 == 0:
            yield from _slice(self.path, self.value_offset + index * self.frame_length, self.frame_length)
            return
        array = pixel_array(str(self.path), index=index)
        if self.bits_allocated == 1:
            # PS3.5 8.1.1: single-bit pixels packed eight to a byte, least significant bit first.
            yield np.packbits(array.astype(np.uint8).ravel(), bitorder="little").tobytes()
        else:
            yield np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


def _slice(path: Path, start: int, length: int) -> Iterator[bytes]:
    with open(path, "rb") as fp:
        fp.seek(start)
        while length > 0:
            chunk = fp.read(min(READ_CHUNK, length))
            if not chunk:
                raise OSError(f"{path} ends inside its pixel data")
            length -= len(chunk)
            yield chunk


def open_pixel_data(path: Path) -> PixelData:
    """Read the header of a stored file and locate its pixel data (the pixels are not read)."""
    with open(path, "rb") as fp:
        ds = read_partial(fp, stop_when=_at_pixel_data, force=True)
        tag_offset = fp.tell()
        head = fp.read(12)
    transfer_syntax = str(ds.file_meta.TransferSyntaxUID)
    sliceable = transfer_syntax in NATIVE_LITTLE_ENDIAN or UID(transfer_syntax).is_encapsulated
    if sliceable:
        if len(head) < 8 or struct.unpack("<HH", head[:4]) not in PIXEL_TAGS:
            raise NoPixelData("the instance has no pixel data")
        # Implicit VR: tag and 4-byte length; explicit VR OB/OW: tag, VR, 2 reserved bytes, 4-byte length.
        value_offset = tag_offset + (8 if transfer_syntax == ImplicitVRLittleEndian else 12)
    else:
        # Big endian or deflated (the file offsets of an inflated stream mean nothing): pydicom decodes.
        full = dcmread(path, force=True)
        if not any(tag in full for tag in (0x7FE00010, 0x7FE00008, 0x7FE00009)):
            raise NoPixelData("the instance has no pixel data")
        value_offset = None
    frames = _int(ds.get("NumberOfFrames")) or 1
    bits = _int(ds.get("BitsAllocated")) or 8
    samples = _int(ds.get("SamplesPerPixel")) or 1
    frame_length = (_int(ds.get("Rows")) or 0) * (_int(ds.get("Columns")) or 0) * samples * bits // 8
    extended = None
    if "ExtendedOffsetTable" in ds and "ExtendedOffsetTableLengths" in ds:
        extended = (ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths)
    return PixelData(Path(path), transfer_syntax, value_offset, frames, frame_length, bits, extended)


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
