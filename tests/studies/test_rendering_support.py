"""Helpers for the rendering tests (no tests here): small synthetic images built with pydicom,
stored through the real ingest funnel, and decoding of the rendered bytes."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom import Dataset, dcmread
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from studies.ingest import Origin, Outcome, ingest_file
from studies.models import Instance

STUDY_UID = generate_uid()


def image_dataset(
    pixels: np.ndarray,
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int | None = None,
    slope: float | None = None,
    intercept: float | None = None,
    study_uid: str = STUDY_UID,
    series_uid: str | None = None,
    sop_class: str = CTImageStorage,
    **attributes,
) -> Dataset:
    """A minimal, valid image instance whose Pixel Data is exactly ``pixels`` (frames first)."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.PatientID = "RENDER-1"
    ds.PatientName = "Render^Test"
    ds.Modality = "CT" if sop_class == CTImageStorage else "OT"
    samples = 3 if photometric in ("RGB", "YBR_FULL") else 1
    frames = pixels.shape[0] if pixels.ndim == (4 if samples == 3 else 3) else 1
    if frames > 1:
        ds.NumberOfFrames = frames
    shape = pixels.shape[1:] if frames > 1 else pixels.shape
    ds.Rows, ds.Columns = shape[0], shape[1]
    ds.SamplesPerPixel = samples
    if samples == 3:
        ds.PlanarConfiguration = 0
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = pixels.dtype.itemsize * 8
    ds.BitsStored = bits_stored or ds.BitsAllocated
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = int(pixels.dtype.kind == "i")
    if slope is not None:
        ds.RescaleSlope = slope
    if intercept is not None:
        ds.RescaleIntercept = intercept
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    return ds


def store(ds: Dataset, folder: Path, user=None) -> Instance:
    """Write ``ds`` and put it in the archive through the ingest funnel."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ds.SOPInstanceUID}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return store_file(path, user)


def store_file(path: Path, user=None) -> Instance:
    result = ingest_file(path, origin=Origin(user_id=user.id if user else None))
    assert result.outcome is Outcome.STORED, result.reason
    return Instance.objects.select_related("series__study").get(sop_instance_uid=result.sop_instance_uid)


def with_identity(path: Path, folder: Path) -> Path:
    """A copy of a sample that lacks its identifying UIDs, with UIDs added; pixel data untouched."""
    ds = dcmread(path, force=True)
    ds.StudyInstanceUID = ds.get("StudyInstanceUID") or generate_uid()
    ds.SeriesInstanceUID = ds.get("SeriesInstanceUID") or generate_uid()
    ds.SOPClassUID = ds.get("SOPClassUID") or SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.get("SOPInstanceUID") or generate_uid()
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / path.name
    ds.save_as(copy)
    return copy


def decoded(body: bytes) -> np.ndarray:
    """The pixels of a rendered PNG or JPEG."""
    return np.asarray(Image.open(io.BytesIO(body)))
