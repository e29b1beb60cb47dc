"""The report SR is Lumen's own object: storing it re-opens no completion period of its study."""
import pytest
from pydicom.uid import generate_uid

from studies.ingest import Origin, ingest_file
from studies.models import Study
from tests.conftest import write_dicom

pytestmark = pytest.mark.django_db


def test_an_internal_object_counts_but_does_not_reopen_a_complete_study(tmp_path, settings):
    study_uid = generate_uid()
    first = write_dicom(tmp_path / "a.dcm", StudyInstanceUID=study_uid, SeriesInstanceUID=generate_uid(), SOPInstanceUID=generate_uid())
    assert ingest_file(first, origin=Origin(calling_ae_title="CT1")).ok
    study = Study.objects.get(study_instance_uid=study_uid)
    assert study.completion_due_at is not None  # an outside instance opens a completion period
    Study.objects.filter(pk=study.pk).update(completion_due_at=None, completed_at=study.last_received_at)

    sr = write_dicom(tmp_path / "sr.dcm", StudyInstanceUID=study_uid, SeriesInstanceUID=generate_uid(), SOPInstanceUID=generate_uid())
    assert ingest_file(sr, origin=Origin(internal=True)).ok
    study.refresh_from_db()
    assert study.number_of_study_related_instances == 2
    assert study.completion_due_at is None  # nothing to check again: no second "study received"

    late = write_dicom(tmp_path / "b.dcm", StudyInstanceUID=study_uid, SeriesInstanceUID=generate_uid(), SOPInstanceUID=generate_uid())
    assert ingest_file(late, origin=Origin(calling_ae_title="CT1")).ok
    study.refresh_from_db()
    assert study.completion_due_at is not None  # a real late image still re-opens it
