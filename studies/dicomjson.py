"""PS3.18 F.2 DICOM JSON of a header, bulk data left out, straight from the raw elements.

pydicom's ``Dataset.to_json_dict`` converts every value to a Python object first and then
walks it again: ~3.5 ms for a CT header, the largest CPU cost of ingesting an instance. This
module decodes the common cases (little endian, default/Latin-1/UTF-8 character sets, VRs
known from the file or the dictionary) directly from the bytes and hands every other
element to pydicom, so the output is the same as pydicom's (tests/studies/test_dicomjson.py
compares them over every sample file) at about a third of the cost.
"""
from __future__ import annotations

import base64
import struct

from pydicom import config
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

# Binary values longer than this would be a BulkDataURI in pydicom's output (threshold 1024
# bytes of base64): they are left out of the stored JSON, as pixel data is.
INLINE_BINARY_LIMIT = (1024 // 4) * 3
SKIPPED_GROUPS = (0x0002, 0x7FE0)  # File Meta (not part of the dataset) and pixel data

# As pydicom: padding is stripped from the whole value for these, from each component for
# the character-set-dependent ones.
_SPLIT_STRING = {"AE", "AS", "CS", "DA", "DT", "TM", "UI"}
_SPLIT_TEXT = {"LO", "SH", "UC"}
_WHOLE_TEXT = {"ST", "LT", "UT", "UR"}
_NUMBER_TEXT = {"DS": float, "IS": int}
_BINARY_NUMBERS = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d", "UV": "Q", "SV": "q"}
_BYTES = {"OB", "OW", "OF", "OD", "OL", "OV", "UN"}
_FAST_CHARSETS = {"": "latin_1", "ISO_IR 6": "latin_1", "ISO_IR 100": "latin_1", "ISO_IR 192": "utf_8"}


class _Fallback(Exception):
    """This element is not one of the common cases: let pydicom convert it."""


def header_json(ds: Dataset) -> dict:
    """The dataset (File Meta and pixel data excluded) as DICOM JSON, without bulk data."""
    return _dataset_json(ds, _encoding_of(ds, _FAST_CHARSETS[""]))


def _encoding_of(ds: Dataset, inherited: str | None) -> str | None:
    """The codec for text in ``ds``, or None when pydicom must decode (other character sets).
    Sequence items without their own SpecificCharacterSet use their parent's (PS3.5 7.5.3)."""
    if "SpecificCharacterSet" not in ds:
        return inherited
    charset = ds.SpecificCharacterSet
    if not isinstance(charset, str):
        return None  # several character sets (ISO 2022 code extensions)
    return _FAST_CHARSETS.get(charset.strip())


def _dataset_json(ds: Dataset, encoding: str | None) -> dict:
    little_endian = ds.original_encoding[1] is not False
    out = {}
    for element in ds.elements():
        tag = element.tag
        if tag.group in SKIPPED_GROUPS:
            continue
        key = f"{tag:08X}"
        try:
            if encoding is None or not little_endian or not isinstance(element, RawDataElement):
                raise _Fallback
            converted = _raw_json(element, encoding)
        except _Fallback:
            converted = _pydicom_json(ds, tag, encoding)
        if converted is not None:
            out[key] = converted
    return out


def _raw_json(element: RawDataElement, encoding: str) -> dict | None:
    vr = element.VR or _dictionary_vr(element.tag)
    value = element.value
    if vr == "SQ" or value is None:
        raise _Fallback
    if not value:
        return {"vr": vr}
    if vr in _BYTES:
        if len(value) > INLINE_BINARY_LIMIT:
            return None
        return {"vr": vr, "InlineBinary": base64.b64encode(value).decode("ascii")}
    if vr in _BINARY_NUMBERS:
        fmt = _BINARY_NUMBERS[vr]
        count = len(value) // struct.calcsize(fmt)
        return {"vr": vr, "Value": list(struct.unpack(f"<{count}{fmt}", value[: count * struct.calcsize(fmt)]))}
    if vr == "AT":
        pairs = struct.unpack(f"<{len(value) // 2}H", value)
        return {"vr": vr, "Value": [f"{g:04X}{e:04X}" for g, e in zip(pairs[::2], pairs[1::2])]}
    text = value.decode(encoding)
    if not text.strip("\x00 "):
        return {"vr": vr}
    if vr == "PN":
        return {"vr": vr, "Value": [_person_name(v) for v in text.rstrip("\x00 ").split("\\")]}
    if vr in _WHOLE_TEXT:
        return {"vr": vr, "Value": [text.rstrip("\x00 ")]}
    if vr in _NUMBER_TEXT:
        number, parts = _NUMBER_TEXT[vr], [v.strip(" \x00") for v in text.split("\\")]
        try:
            return {"vr": vr, "Value": [number(v) for v in parts]}
        except ValueError:  # an empty or malformed component: pydicom decides
            raise _Fallback from None
    if vr in _SPLIT_STRING:
        return {"vr": vr, "Value": text.rstrip("\x00 ").split("\\")}
    if vr in _SPLIT_TEXT:
        return {"vr": vr, "Value": [v.rstrip("\x00 ") for v in text.split("\\")]}
    raise _Fallback


def _person_name(value: str) -> dict:
    groups = value.split("=")
    name = {"Alphabetic": groups[0]}
    if len(groups) > 1:
        name["Ideographic"] = groups[1]
    if len(groups) > 2:
        name["Phonetic"] = groups[2]
    return name


def _dictionary_vr(tag) -> str:
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        raise _Fallback from None
    if " or " in vr:
        raise _Fallback  # ambiguous (US or SS, OB or OW): pydicom resolves it from the dataset
    return vr


def _pydicom_json(ds: Dataset, tag, encoding: str | None) -> dict | None:
    """pydicom's own answer for one element; an invalid value leaves the element out, as
    ``to_json_dict(suppress_invalid_tags=True)`` does."""
    try:
        with config.strict_reading():
            element = ds[tag]
            if element.VR == "SQ":
                items = [_dataset_json(item, _encoding_of(item, encoding)) for item in element.value]
                return {"vr": "SQ", "Value": items}
            as_json = element.to_json_dict(bulk_data_element_handler=lambda e: "", bulk_data_threshold=1024)
    except Exception:  # noqa: BLE001 - any value pydicom cannot convert is left out
        return None
    return None if "BulkDataURI" in as_json else as_json
