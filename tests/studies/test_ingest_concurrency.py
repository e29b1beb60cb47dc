"""Concurrent stores of the same study end with one Patient, Study and Series row each."""
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from studies.ingest import Origin, Outcome, ingest_file
from studies.models import Instance, Patient, Series, Study
from tests.conftest import CT_ABDOMEN, archived_files


def _ingest_all(paths):
    try:
        return [ingest_file(p, origin=Origin(calling_ae_title="MODALITY")) for p in paths]
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_two_writers_on_the_same_study_make_one_row_each(data_dir):
    files = sorted(CT_ABDOMEN.iterdir())
    # Both writers send every slice, in opposite orders, so they collide on every row.
    with ThreadPoolExecutor(max_workers=4) as pool:
        batches = list(pool.map(_ingest_all, [files, files[::-1], files[::2], files[1::2]]))

    outcomes = [r.outcome for batch in batches for r in batch]
    assert outcomes.count(Outcome.STORED) == len(files)
    assert outcomes.count(Outcome.ALREADY_STORED) == 3 * len(files) - len(files)
    assert Patient.objects.count() == 1 and Study.objects.count() == 1 and Series.objects.count() == 1
    assert Instance.objects.count() == len(files)
    assert Series.objects.get().number_of_series_related_instances == len(files)
    study = Study.objects.get()
    assert (study.number_of_study_related_series, study.number_of_study_related_instances) == (1, len(files))
    assert study.modalities_in_study == "CT"
    assert len(archived_files(data_dir)) == len(files)  # the losers' files were removed
