"""Storing the report SR through the one ingest funnel: it is then an object of the study like any
other (index, QIDO-RS), a repeat is "already stored", and an addendum is a new instance."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
from django.test import Client
from pydicom import dcmread
from pydicom.uid import ComprehensiveSRStorage

from reports.outputs.sr import SRStoreError, store_sr
from studies.ingest import Outcome
from studies.models import Instance, Series
from studies.storage import dicom_storage
from tests.reports.outputs.conftest import amended

pytestmark = pytest.mark.django_db

SERIES_UID, MODALITY, SERIES_DESCRIPTION = "0020000E", "00080060", "0008103E"


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_sr_is_stored_through_the_funnel_and_indexed_in_the_study(final_doc, abdomen_study):
    result = store_sr(final_doc)

    assert result.outcome is Outcome.STORED
    instance = Instance.objects.select_related("series__study").get(sop_instance_uid=result.sop_instance_uid)
    assert instance.series.study == abdomen_study
    assert instance.series.modality == "SR"
    assert instance.series.series_description == "Lumen report"
    assert instance.sop_class_uid == ComprehensiveSRStorage
    assert instance.uploaded_by is None  # made by the archive itself, not uploaded by a person
    stored = dcmread(dicom_storage().path(instance.storage_key))
    assert stored.VerificationFlag == "VERIFIED"


def test_the_uploader_finds_the_report_series_by_qido_and_an_outsider_does_not(final_doc, abdomen_study, alice, charlie):
    store_sr(final_doc)
    url = f"/dicomweb/studies/{abdomen_study.study_instance_uid}/series?Modality=SR"

    answer = client_of(alice).get(url)

    assert answer.status_code == 200
    (series,) = answer.json()
    assert series[MODALITY]["Value"] == ["SR"]
    assert series[SERIES_DESCRIPTION]["Value"] == ["Lumen report"]
    assert client_of(charlie).get(url).json() == []


def test_storing_the_same_version_again_is_already_stored(final_doc, abdomen_study):
    first = store_sr(final_doc)
    again = store_sr(final_doc)

    assert again.outcome is Outcome.ALREADY_STORED
    assert again.sop_instance_uid == first.sop_instance_uid
    assert Instance.objects.filter(series__modality="SR").count() == 1


def test_an_addendum_is_a_new_instance_in_the_same_series_that_names_its_predecessor(final_doc, abdomen_study):
    first = store_sr(final_doc)
    second = store_sr(amended(final_doc))

    assert second.outcome is Outcome.STORED
    assert second.sop_instance_uid != first.sop_instance_uid
    (series,) = Series.objects.filter(study=abdomen_study, modality="SR")
    assert sorted(series.instances.values_list("instance_number", flat=True)) == [1, 2]
    stored = dcmread(dicom_storage().path(series.instances.get(instance_number=2).storage_key))
    predecessor = stored.PredecessorDocumentsSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert predecessor.ReferencedSOPInstanceUID == first.sop_instance_uid
    # The first SR stays as it was: versions are kept, not replaced.
    assert Instance.objects.filter(sop_instance_uid=first.sop_instance_uid).exists()


def test_a_report_sr_is_not_evidence_of_the_next_version(final_doc, abdomen_study):
    first = store_sr(final_doc)
    second = store_sr(amended(final_doc))
    stored = dcmread(dicom_storage().path(Instance.objects.get(sop_instance_uid=second.sop_instance_uid).storage_key))

    evidence = {
        sop.ReferencedSOPInstanceUID
        for study in stored.CurrentRequestedProcedureEvidenceSequence
        for series in study.ReferencedSeriesSequence
        for sop in series.ReferencedSOPSequence
    }
    assert first.sop_instance_uid not in evidence
    assert len(evidence) == 3


def test_a_rejected_sr_raises_with_the_funnel_reason(final_doc, abdomen_study, settings):
    store_sr(final_doc)
    # Another report object under the same UIDs but different content: the funnel keeps the first.
    settings.LUMEN_DUPLICATE_POLICY = "keep-first"
    changed = replace(final_doc, sections=(("Findings", "Different text"),))

    with pytest.raises(SRStoreError) as error:
        store_sr(changed)
    assert error.value.result.code == "conflict"


def test_the_study_page_the_series_page_and_wado_metadata_take_the_report_series(final_doc, abdomen_study, alice):
    result = store_sr(final_doc)
    series = Series.objects.get(study=abdomen_study, modality="SR")
    client = client_of(alice)
    study_uid = abdomen_study.study_instance_uid

    assert client.get(f"/studies/{study_uid}/").status_code == 200
    assert client.get(f"/studies/{study_uid}/series/{series.series_instance_uid}/").status_code == 200
    metadata = client.get(f"/dicomweb/studies/{study_uid}/series/{series.series_instance_uid}/metadata")
    assert metadata.status_code == 200
    (item,) = json.loads(b"".join(metadata.streaming_content))
    assert item["00080018"]["Value"] == [result.sop_instance_uid]
    assert item["0040A493"]["Value"] == ["VERIFIED"]
