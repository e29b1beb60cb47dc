"""An archive for the REST API tests: Alice's two studies, one study nobody uploaded (received
over DICOM), and API tokens for the personas."""
from __future__ import annotations

from pathlib import Path

import pytest

from studies.ingest import Origin, ingest_file
from tests.conftest import write_dicom

HEAD = "1.2.826.0.1.3680043.8.498.100"
KNEE = "1.2.826.0.1.3680043.8.498.200"
POOL = "1.2.826.0.1.3680043.8.498.300"


def store(folder: Path, user, **elements) -> None:
    path = write_dicom(folder / f"{elements['SOPInstanceUID']}.dcm", **elements)
    assert ingest_file(path, origin=Origin(user_id=user.pk if user else None)).ok


@pytest.fixture
def archive(tmp_path, alice):
    """Alice uploaded a CT head (2 series: 3 + 1 images) and an MR knee; a third study came over DICOM."""
    folder = tmp_path / "files"
    head = {"StudyInstanceUID": HEAD, "PatientName": "DOE^JOHN", "PatientID": "P-1", "StudyDate": "20240115",
            "AccessionNumber": "ACC-100", "StudyDescription": "CT HEAD"}
    # Instance numbers out of slice order: lists come back in reading order (studies/ordering.py).
    for number, z in ((1, 20.0), (2, 0.0), (3, 10.0)):
        store(folder, alice, **head, SeriesInstanceUID=f"{HEAD}.1", SOPInstanceUID=f"{HEAD}.1.{number}", Modality="CT",
              SeriesNumber=1, InstanceNumber=number, ImagePositionPatient=[0, 0, z],
              ImageOrientationPatient=[1, 0, 0, 0, 1, 0])
    store(folder, alice, **head, SeriesInstanceUID=f"{HEAD}.2", SOPInstanceUID=f"{HEAD}.2.1", Modality="CT", SeriesNumber=2)
    store(folder, alice, StudyInstanceUID=KNEE, PatientName="ROE^JANE", PatientID="P-2", StudyDate="20240310",
          AccessionNumber="ACC-200", Modality="MR", SeriesInstanceUID=f"{KNEE}.1", SOPInstanceUID=f"{KNEE}.1.1")
    store(folder, None, StudyInstanceUID=POOL, PatientName="POOL^PAT", PatientID="P-3", StudyDate="20240601",
          AccessionNumber="ACC-300", Modality="CT", SeriesInstanceUID=f"{POOL}.1", SOPInstanceUID=f"{POOL}.1.1")
    return {"head": HEAD, "knee": KNEE, "pool": POOL}
