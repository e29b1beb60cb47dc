"""The instance row's values, now read from the stored DICOM JSON, are what pydicom's own
reading of the header gives (the way they were read before)."""
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from studies.dicomfile import InvalidDicom, NotDicom, read_header
from studies.ingest import _float, _floats, _int, _text, instance_attributes
from studies.ordering import slice_position
from tests.conftest import SAMPLES, write_dicom


def pydicom_reference(ds: Dataset) -> dict:
    position = _floats(ds.get("ImagePositionPatient"), 3)
    orientation = _floats(ds.get("ImageOrientationPatient"), 6)
    return {
        "instance_number": _int(ds.get("InstanceNumber")),
        "rows": _int(ds.get("Rows")),
        "columns": _int(ds.get("Columns")),
        "number_of_frames": _int(ds.get("NumberOfFrames")) or 1,
        "photometric_interpretation": _text(ds, "PhotometricInterpretation", 16),
        "image_position_patient": position,
        "image_orientation_patient": orientation,
        "pixel_spacing": _floats(ds.get("PixelSpacing"), 2),
        "slice_thickness": _float(ds.get("SliceThickness")),
        "slice_location": _float(ds.get("SliceLocation")),
        "slice_position": slice_position(position, orientation),
        "acquisition_time": _text(ds, "AcquisitionTime", 32),
        "window_center": _float(ds.get("WindowCenter")),
        "window_width": _float(ds.get("WindowWidth")),
        "rescale_slope": _float(ds.get("RescaleSlope")) or 1.0,
        "rescale_intercept": _float(ds.get("RescaleIntercept")) or 0.0,
    }


def row_values(path) -> dict:
    attributes = instance_attributes(read_header(path))
    return {name: attributes[name] for name in pydicom_reference(Dataset())}


def test_every_sample_gives_the_values_pydicom_reads():
    compared = 0
    for path in sorted(SAMPLES.rglob("*")):
        if not path.is_file() or path.suffix in {".md", ".csv", ".txt"}:
            continue
        try:
            header = read_header(path)
        except (NotDicom, InvalidDicom):
            continue
        assert row_values(path) == pydicom_reference(header.dataset), path
        compared += 1
    assert compared > 600


def test_multi_valued_windows_empty_values_and_padding(tmp_path):
    path = write_dicom(
        tmp_path / "a.dcm",
        WindowCenter=["40", "400"],
        WindowWidth=["80", "2000"],
        AcquisitionTime="101010.5 ",
        PhotometricInterpretation="MONOCHROME2 ",
        SliceThickness="",
        ImagePositionPatient=["1", "2.5", "-3e2"],
        ImageOrientationPatient=["1", "0", "0", "0", "1"],  # five values: not an orientation
        SeriesInstanceUID=generate_uid(),
    )
    values = row_values(path)
    assert values == pydicom_reference(read_header(path).dataset)
    assert values["window_center"] == 40.0 and values["acquisition_time"] == "101010.5"
    assert values["image_position_patient"] == [1.0, 2.5, -300.0] and values["image_orientation_patient"] is None
    assert values["slice_thickness"] is None and values["rescale_slope"] == 1.0
