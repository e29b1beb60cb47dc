"""Every file of the shared sample set goes through the funnel; the index matches the MANIFEST."""
import csv
from collections import Counter

import pytest

from studies.ingest import Origin, Outcome, ingest_file
from studies.models import Instance, Patient, Series, Study
from studies.ordering import ordered
from tests.conftest import CT_HEAD, SAMPLES

pytestmark = pytest.mark.django_db


def manifest_rows():
    with open(SAMPLES / "manifest.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def storable(row) -> bool:
    # Files the MANIFEST lists without Study/Series UIDs (test images, DICOMDIR indexes, READMEs)
    # are refused by design: an archive cannot place an instance without its identity.
    return bool(row["study_uid"] and row["series_uid"]) and row["sop_class"] != "Media Storage Directory Storage"


def test_every_sample_is_stored_or_refused_with_a_reason():
    rows = manifest_rows()
    outcomes = {}
    for row in rows:
        outcomes[row["path"]] = ingest_file(SAMPLES / row["path"], origin=Origin())

    for row in rows:
        result = outcomes[row["path"]]
        if storable(row):
            assert result.outcome is Outcome.STORED, (row["path"], result.reason)
        else:
            assert result.outcome is Outcome.REJECTED and result.reason, row["path"]

    expected_series = Counter(row["series_uid"] for row in rows if storable(row))
    expected_studies = Counter(row["study_uid"] for row in rows if storable(row))
    assert Instance.objects.count() == sum(expected_series.values())
    assert {s.series_instance_uid: s.number_of_series_related_instances for s in Series.objects.all()} == expected_series
    assert {s.study_instance_uid: s.number_of_study_related_instances for s in Study.objects.all()} == expected_studies
    for study in Study.objects.all():
        assert study.number_of_study_related_series == study.series.count()
        assert study.number_of_study_related_instances == Instance.objects.filter(series__study=study).count()

    # The MANIFEST's patients: one row per non-empty PatientID (anonymous studies get their own).
    expected_patients = {row["patient_id"] for row in rows if storable(row) and row["patient_id"]}
    assert expected_patients <= set(Patient.objects.values_list("patient_id", flat=True))
    sts = Patient.objects.get(patient_id="STS_001")
    assert sts.studies.count() == 2  # the MR study and the PET/CT study of the same patient
    assert set(sts.studies.get(study_instance_uid__endswith="963929").modalities) == {"CT", "PT", "RTSTRUCT"}


def test_the_head_phantom_sorts_in_slice_position_order():
    for path in sorted(CT_HEAD.iterdir(), reverse=True):
        assert ingest_file(path, origin=Origin()).outcome is Outcome.STORED
    series = Series.objects.get()
    slices = list(ordered(series.instances.all()))
    assert len(slices) == 140
    z = [s.image_position_patient[2] for s in slices]
    assert z == sorted(z)
    assert all(abs((b - a) - 1.0) < 0.01 for a, b in zip(z, z[1:]))  # contiguous 1 mm slices
