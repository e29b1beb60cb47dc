"""The fast DICOM JSON writer gives exactly pydicom's answer (bulk data left out)."""
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from studies.dicomfile import InvalidDicom, NotDicom, read_header
from studies.dicomjson import header_json
from tests.conftest import SAMPLES, write_dicom


def pydicom_reference(ds: Dataset) -> dict:
    """What pydicom's own to_json_dict says, with File Meta, pixel data and bulk data removed."""
    header_only = Dataset()
    for element in ds:
        if element.tag.group not in (0x0002, 0x7FE0):
            header_only.add(element)
    as_json = header_only.to_json_dict(bulk_data_threshold=1024, bulk_data_element_handler=lambda e: "", suppress_invalid_tags=True)
    return _without_bulk_data(as_json)


def _without_bulk_data(as_json: dict) -> dict:
    cleaned = {}
    for tag, element in as_json.items():
        if "BulkDataURI" in element:
            continue
        if element.get("vr") == "SQ" and "Value" in element:
            element = {**element, "Value": [_without_bulk_data(item) for item in element["Value"]]}
        cleaned[tag] = element
    return cleaned


def storable_samples():
    for path in sorted(SAMPLES.rglob("*")):
        if path.is_file() and path.suffix not in {".md", ".csv", ".txt"}:
            yield path


def test_every_sample_header_converts_exactly_as_pydicom_does():
    compared = 0
    for path in storable_samples():
        try:
            header = read_header(path)
        except (NotDicom, InvalidDicom):
            continue
        fast = header_json(header.dataset)
        reference = pydicom_reference(read_header(path).dataset)
        assert fast == reference, path
        compared += 1
    assert compared > 600


@pytest.mark.parametrize("charset", [None, "ISO_IR 100", "ISO_IR 192", "ISO_IR 144", ["ISO 2022 IR 6", "ISO 2022 IR 87"]])
def test_text_in_any_character_set_matches_pydicom(tmp_path, charset):
    extra = {"SpecificCharacterSet": charset} if charset else {}
    names = {
        None: "Doe^John",
        "ISO_IR 100": "Müller^Jürgen",
        "ISO_IR 192": "Wang^XiaoDong=王^小東",
        "ISO_IR 144": "Иванов^Иван",
        "ISO 2022 IR 87": "Yamada^Tarou=山田^太郎",
    }
    name = names[charset[-1] if isinstance(charset, list) else charset]
    path = write_dicom(
        tmp_path / "text.dcm",
        PatientName=name,
        StudyDescription="Thorax  ",
        ImageType=["ORIGINAL ", "PRIMARY", "AXIAL"],
        PixelSpacing=[0.5, 0.5],
        WindowCenter=["40", "-600"],
        FrameIncrementPointer=0x00181063,
        **extra,
    )
    header = read_header(path)
    assert header_json(header.dataset) == pydicom_reference(read_header(path).dataset)


def test_short_binary_values_are_inline_and_long_ones_are_left_out(tmp_path):
    path = write_dicom(tmp_path / "binary.dcm", SeriesInstanceUID=generate_uid())
    ds = read_header(path).dataset
    ds.add_new(0x00091010, "OB", b"\x01\x02\x03\x04")
    ds.add_new(0x00091011, "OB", bytes(4096))
    as_json = header_json(ds)
    assert as_json["00091010"] == {"vr": "OB", "InlineBinary": "AQIDBA=="}
    assert "00091011" not in as_json
