"""When a study completes (studies/completeness.py), a real Celery worker builds its series'
WADO-RS metadata, so the first viewer gets a kept answer (studies/dicomweb/metadata.py)."""
import pytest
from django.db import connection
from pydicom.uid import generate_uid

from studies.ingest import Origin, ingest_file
from studies.models import SeriesMetadata
from tests.conftest import write_dicom
from tests.studies.test_completeness import completing_worker, stable_time, wait_for  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="kept on PostgreSQL only"),
]


def test_a_completed_studys_series_metadata_is_kept_before_anyone_asks(tmp_path, completing_worker):
    study, series = generate_uid(), generate_uid()
    for n in (1, 2):
        path = write_dicom(tmp_path / "in" / f"{n}.dcm", StudyInstanceUID=study, SeriesInstanceUID=series, InstanceNumber=n)
        assert ingest_file(path, origin=Origin(calling_ae_title="MODALITY")).ok

    wait_for(lambda: SeriesMetadata.objects.filter(series__series_instance_uid=series).exists(), "the kept metadata", tmp_path)
    (kept,) = SeriesMetadata.objects.all()
    assert kept.body.count('"BulkDataURI": "/') == 2
