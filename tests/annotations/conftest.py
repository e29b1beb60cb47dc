"""Two studies for the annotation tests: Alice's own upload (seen by Alice and the admin) with
a CT series of three slices and a two-frame series, and a study received over DICOM (in the
radiologists' reading pool). Charlie, the outsider, sees neither."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.urls import reverse

from studies.ingest import Origin, ingest_file
from tests.conftest import write_dicom

OWN = "1.2.826.0.1.3680043.8.498.700"
POOL = "1.2.826.0.1.3680043.8.498.800"


@dataclass(frozen=True)
class Image:
    study: str
    series: str
    sop: str

    def body(self, **extra) -> dict:
        return {"series_instance_uid": self.series, "sop_instance_uid": self.sop, **extra}


def _store(folder, user, **elements) -> None:
    path = write_dicom(folder / f"{elements['SOPInstanceUID']}.dcm", **elements)
    assert ingest_file(path, origin=Origin(user_id=user.pk) if user else Origin(calling_ae_title="CT1")).ok


@pytest.fixture
def images(tmp_path, alice) -> dict[str, Image]:
    folder = tmp_path / "files"
    own = {"StudyInstanceUID": OWN, "PatientName": "DOE^JOHN", "PatientID": "P-7"}
    # Instance numbers out of slice order: the reading order is by slice position (studies/ordering.py).
    for number, z in ((1, 20.0), (2, 0.0), (3, 10.0)):
        _store(folder, alice, **own, SeriesInstanceUID=f"{OWN}.2", SeriesNumber=2, SOPInstanceUID=f"{OWN}.2.{number}",
               InstanceNumber=number, ImagePositionPatient=[0, 0, z], ImageOrientationPatient=[1, 0, 0, 0, 1, 0])
    path = write_dicom(folder / "multi.dcm", frames=2, **own, SeriesInstanceUID=f"{OWN}.1", SeriesNumber=1,
                       SOPInstanceUID=f"{OWN}.1.1")
    assert ingest_file(path, origin=Origin(user_id=alice.pk)).ok
    _store(folder, None, StudyInstanceUID=POOL, PatientName="POOL^PAT", PatientID="P-8", SeriesInstanceUID=f"{POOL}.1",
           SOPInstanceUID=f"{POOL}.1.1")
    return {
        "slice0": Image(OWN, f"{OWN}.2", f"{OWN}.2.2"),  # z = 0
        "slice10": Image(OWN, f"{OWN}.2", f"{OWN}.2.3"),
        "slice20": Image(OWN, f"{OWN}.2", f"{OWN}.2.1"),
        "multiframe": Image(OWN, f"{OWN}.1", f"{OWN}.1.1"),
        "pool": Image(POOL, f"{POOL}.1", f"{POOL}.1.1"),
    }


def annotations_url(study: str) -> str:
    return reverse("annotations:annotation-list", args=[study])


def annotation_url(study: str, uid: str) -> str:
    return reverse("annotations:annotation-detail", args=[study, uid])


def key_images_url(study: str) -> str:
    return reverse("annotations:key-image-list", args=[study])


def length(image: Image, uid: str = "a1", **extra) -> dict:
    """A Length measurement as Cornerstone3D's LengthTool serializes it."""
    data = {
        "annotationUID": uid,
        "metadata": {"toolName": "Length", "referencedImageId": f"wadors:/dicomweb/studies/{image.study}/series/"
                     f"{image.series}/instances/{image.sop}/frames/1"},
        "data": {"handles": {"points": [[0, 0, 0], [3.5, 4.0, 0]]}, "cachedStats": {"imageId": {"length": 5.3, "unit": "mm"}}},
    }
    return image.body(uid=uid, tool="Length", frame=1, data=data, **extra)
