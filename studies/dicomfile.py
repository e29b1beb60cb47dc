"""Reading and checking one DICOM file's header, once, without decoding its pixels.

pydicom is lenient on purpose: it silently accepts truncated files, missing UIDs and
garbage in UID fields. This module adds the checks an archive needs before it stores
anything (see ``read_header``), and finds where the dataset starts so the stored copy
can get a clean, zeroed preamble (CVE-2019-11687: polyglot files).
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.filereader import _at_pixel_data, _read_file_meta_info, read_partial, read_preamble
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

# PS3.5 9.1: UIDs are at most 64 characters of digits and dots, components non-empty.
UID_PATTERN = re.compile(r"^[0-9]+(\.[0-9]+)*$")
MAX_UID_LENGTH = 64
# Real SR trees nest a dozen levels at most; hundreds of levels is an attack on the parser.
MAX_SEQUENCE_DEPTH = 32
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"  # DICOMDIR
REQUIRED_UIDS = ("SOPInstanceUID", "SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID")


class NotDicom(Exception):
    """The bytes are not a DICOM file at all."""


class InvalidDicom(Exception):
    """A DICOM file the archive must not store; the message says why, for the user."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Header:
    """What the funnel needs from one file: the dataset (no pixel data) and the byte layout."""

    dataset: Dataset
    file_meta: FileMetaDataset | None
    meta_offset: int  # where the File Meta group starts (132 with a preamble, 0 without)
    dataset_offset: int  # where the dataset starts in the file (after preamble and File Meta)
    transfer_syntax_uid: str
    file_size: int

    @property
    def has_file_meta(self) -> bool:
        return self.file_meta is not None and "TransferSyntaxUID" in self.file_meta


def is_valid_uid(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_UID_LENGTH and bool(UID_PATTERN.match(value))


def read_header(path: Path) -> Header:
    """Parse the header of ``path`` and check it is a storable DICOM instance.

    Raises NotDicom for other files and InvalidDicom (with a reason code) for broken ones.
    """
    size = path.stat().st_size
    with open(path, "rb") as fp:
        file_meta, meta_offset, dataset_offset = read_file_meta(fp)
        fp.seek(0)
        try:
            dataset = read_partial(fp, stop_when=_at_pixel_data, force=True)
        except RecursionError:
            raise InvalidDicom("too-deep", "sequence nesting is too deep to be a real DICOM object") from None
        except (InvalidDicomError, EOFError, struct.error, ValueError, KeyError, TypeError, OverflowError) as exc:
            if file_meta is None:
                raise NotDicom(f"not a DICOM file ({exc.__class__.__name__})") from None
            raise InvalidDicom("malformed", f"the DICOM header cannot be parsed: {exc}") from None
        pixel_tag_offset = fp.tell()
        transfer_syntax = _transfer_syntax(dataset, file_meta)
        if len(dataset) == 0 or (file_meta is None and not _looks_like_a_dataset(dataset)):
            raise NotDicom("not a DICOM file")
        if transfer_syntax != DeflatedExplicitVRLittleEndian:
            _check_pixel_data_is_complete(fp, dataset, pixel_tag_offset, size, transfer_syntax)
    header = Header(dataset, file_meta, meta_offset, dataset_offset, transfer_syntax, size)
    _check_identity(header)
    return header


def read_file_meta(fp) -> tuple[FileMetaDataset | None, int, int]:
    """The File Meta group (or None), where it starts and where the dataset starts."""
    try:
        preamble = read_preamble(fp, force=True)
        if preamble is None and fp.read(4) != b"DICM":
            # No preamble: the File Meta may still start right at byte 0 (or after a bare "DICM").
            fp.seek(0)
        meta_offset = fp.tell()
        meta = _read_file_meta_info(fp)
    except (InvalidDicomError, EOFError, struct.error, ValueError, KeyError, TypeError) as exc:
        raise InvalidDicom("malformed", f"the File Meta Information cannot be parsed: {exc}") from None
    return (meta if len(meta) else None), meta_offset, fp.tell()


def _transfer_syntax(dataset: Dataset, file_meta: FileMetaDataset | None) -> str:
    if file_meta is not None and "TransferSyntaxUID" in file_meta:
        return str(file_meta.TransferSyntaxUID)
    implicit, little = dataset.original_encoding
    if implicit:
        return ImplicitVRLittleEndian
    return ExplicitVRLittleEndian if little else ExplicitVRBigEndian


def _looks_like_a_dataset(dataset: Dataset) -> bool:
    # A raw dataset without File Meta (ACR-NEMA style) must at least carry the SOP identity;
    # random bytes parsed with force=True give a handful of nonsense private tags instead.
    return "SOPClassUID" in dataset or "SOPInstanceUID" in dataset


def _check_pixel_data_is_complete(fp, dataset: Dataset, offset: int, size: int, transfer_syntax: str) -> None:
    fp.seek(offset)
    head = fp.read(12)
    if len(head) < 8:
        if "Rows" in dataset and "Columns" in dataset and "PixelData" not in dataset:
            raise InvalidDicom("truncated", "the file ends before its pixel data (truncated)")
        return
    little = transfer_syntax != ExplicitVRBigEndian
    endian = "<" if little else ">"
    group, element = struct.unpack(endian + "HH", head[:4])
    if (group, element) not in {(0x7FE0, 0x0010), (0x7FE0, 0x0008), (0x7FE0, 0x0009)}:
        return
    if transfer_syntax == ImplicitVRLittleEndian:
        (length,) = struct.unpack("<L", head[4:8])
        value_start = offset + 8
    else:
        (length,) = struct.unpack(endian + "L", head[8:12])
        value_start = offset + 12
    if length == 0xFFFFFFFF:
        _check_fragments_are_complete(fp, value_start, size)
    elif value_start + length > size:
        raise InvalidDicom(
            "truncated", f"the pixel data needs {length} bytes but only {max(size - value_start, 0)} are there (truncated file)"
        )


def _check_fragments_are_complete(fp, position: int, size: int) -> None:
    """Walk the items of encapsulated pixel data (PS3.5 A.4) up to the Sequence Delimitation Item."""
    while True:
        fp.seek(position)
        item = fp.read(8)
        if len(item) < 8:
            raise InvalidDicom("truncated", "the encapsulated pixel data has no end delimiter (truncated file)")
        group, element, length = struct.unpack("<HHL", item)
        if (group, element) == (0xFFFE, 0xE0DD):
            return
        if (group, element) != (0xFFFE, 0xE000) or position + 8 + length > size:
            raise InvalidDicom("truncated", "the encapsulated pixel data is cut short (truncated file)")
        position += 8 + length


def _check_identity(header: Header) -> None:
    dataset = header.dataset
    sop_class = dataset.get("SOPClassUID") or (header.file_meta or {}).get("MediaStorageSOPClassUID")
    if str(sop_class or "") == MEDIA_STORAGE_DIRECTORY:
        raise InvalidDicom("dicomdir", "a DICOMDIR index, not an instance: the files it references are imported instead")
    for keyword in REQUIRED_UIDS:
        value = dataset.get(keyword)
        if value is None or str(value).strip() == "":
            raise InvalidDicom("missing-uid", f"{keyword} is missing")
        if not is_valid_uid(str(value)):
            raise InvalidDicom("invalid-uid", f"{keyword} is not a valid UID (digits and dots, at most 64 characters)")


def check_nesting(dicom_json: dict, depth: int = 0) -> None:
    """Refuse absurd sequence nesting, walking the DICOM JSON the funnel builds anyway."""
    if depth > MAX_SEQUENCE_DEPTH:
        raise InvalidDicom("too-deep", f"sequences nest deeper than {MAX_SEQUENCE_DEPTH} levels")
    for element in dicom_json.values():
        if element.get("vr") == "SQ":
            for item in element.get("Value", ()):
                check_nesting(item, depth + 1)
