"""Helpers for the DICOMweb tests: small generated instances, ingest as a persona, clients."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.test import Client
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from studies.ingest import Origin, ingest_file
from tests.conftest import CT_ABDOMEN, client_with_token


def make_instance(folder: Path, *, study: str, series: str | None = None, sop: str | None = None, **attributes) -> Path:
    """A small valid CT instance (8×8 pixels) with the given header attributes, written to ``folder``."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop or generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series or generate_uid()
    ds.Modality = "CT"
    ds.PatientName = "Doe^John"
    ds.PatientID = "P-1"
    ds.StudyDate = "20200615"
    ds.StudyTime = "101500"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Rows = ds.Columns = 8
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.PixelData = np.arange(ds.Rows * ds.Columns, dtype="<u2").tobytes()
    path = folder / f"{ds.SOPInstanceUID}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def ingest_as(user, *paths: Path) -> None:
    for path in paths:
        result = ingest_file(path, origin=Origin(user_id=user.id))
        assert result.ok, result.reason


@pytest.fixture
def make(tmp_path):
    folder = tmp_path / "made"
    folder.mkdir()
    return lambda **attributes: make_instance(folder, **attributes)


@pytest.fixture
def abdomen_files() -> list[Path]:
    """Three slices of the real abdomen CT (Explicit VR Little Endian, 512×512)."""
    files = sorted(p for p in CT_ABDOMEN.iterdir() if p.suffix == ".dcm")[:3]
    if len(files) < 3:
        pytest.skip("the abdomen CT sample is not available")
    return files


@pytest.fixture
def alice_abdomen(alice, abdomen_files):
    """Alice uploaded three slices of the abdomen CT; returns its Study Instance UID."""
    ingest_as(alice, *abdomen_files)
    from studies.models import Study

    return Study.objects.get().study_instance_uid


def session_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def token_client(user):
    """DICOMweb clients send the token as ``Bearer``."""
    return client_with_token(user, "Bearer")
