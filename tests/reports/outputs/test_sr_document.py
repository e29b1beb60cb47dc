"""The report as a DICOM Comprehensive SR: TID 2000 content, the study's patient and study data,
its own series, and the flags that say whether a radiologist verified it."""
from __future__ import annotations

import subprocess
from dataclasses import replace

import pytest
from pydicom import dcmread
from pydicom.uid import ComprehensiveSRStorage

from reports.outputs.sr import build_sr
from studies.models import Instance
from tests.conftest import require_tool
from tests.reports.outputs.conftest import FINDINGS, IMPRESSION, amended

pytestmark = pytest.mark.django_db


def saved(sr, tmp_path):
    path = tmp_path / "report-sr.dcm"
    sr.save_as(path, enforce_file_format=True)
    return path


def texts(ds) -> dict[str, list[str]]:
    """Concept meaning → text values, anywhere in the content tree."""
    found: dict[str, list[str]] = {}

    def walk(items):
        for item in items:
            if item.ValueType == "TEXT":
                found.setdefault(item.ConceptNameCodeSequence[0].CodeMeaning, []).append(item.TextValue)
            walk(item.get("ContentSequence", []))

    walk(ds.ContentSequence)
    return found


def test_a_final_report_is_a_verified_comprehensive_sr_in_the_study_with_its_own_series(final_doc, abdomen_study, tmp_path):
    ds = dcmread(saved(build_sr(final_doc, abdomen_study), tmp_path))
    image = Instance.objects.filter(series__study=abdomen_study).first()
    stored = dcmread(_stored_path(image), stop_before_pixels=True)

    assert ds.SOPClassUID == ComprehensiveSRStorage
    assert ds.Modality == "SR"
    assert ds.StudyInstanceUID == abdomen_study.study_instance_uid
    assert ds.SeriesInstanceUID != image.series.series_instance_uid
    assert ds.SeriesDescription == "Lumen report"
    assert (ds.PatientName, ds.PatientID, ds.StudyDate) == (stored.PatientName, stored.PatientID, stored.StudyDate)
    assert ds.AccessionNumber == stored.get("AccessionNumber", "")
    assert (ds.CompletionFlag, ds.VerificationFlag, ds.PreliminaryFlag) == ("COMPLETE", "VERIFIED", "FINAL")
    (observer,) = ds.VerifyingObserverSequence
    assert str(observer.VerifyingObserverName) == "Rita Radiologist^"
    assert observer.VerifyingOrganization == "Lumen Teaching Hospital"
    assert observer.VerificationDateTime.startswith("20240304")
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "2000"
    assert ds.ConceptNameCodeSequence[0].CodeValue == "18748-4"


def _stored_path(instance):
    from studies.storage import dicom_storage

    return dicom_storage().path(instance.storage_key)


def test_the_sections_are_headed_containers_with_the_text(final_doc, abdomen_study, tmp_path):
    ds = dcmread(saved(build_sr(final_doc, abdomen_study), tmp_path))
    headings = [item.ConceptNameCodeSequence[0].CodeMeaning for item in ds.ContentSequence if item.ValueType == "CONTAINER"]

    assert headings == ["History", "Current Procedure Descriptions", "Findings", "Impressions", "Key Images"]
    assert texts(ds)["Finding"] == [FINDINGS]
    assert texts(ds)["Impression"] == [IMPRESSION]


def test_the_key_image_is_an_image_item_and_the_study_images_are_the_evidence(final_doc, abdomen_study, tmp_path):
    ds = dcmread(saved(build_sr(final_doc, abdomen_study), tmp_path))
    (key_images,) = [item for item in ds.ContentSequence if item.ConceptNameCodeSequence[0].CodeValue == "121180"]
    (image,) = [item for item in key_images.ContentSequence if item.ValueType == "IMAGE"]
    evidence = {
        sop.ReferencedSOPInstanceUID
        for study in ds.CurrentRequestedProcedureEvidenceSequence
        for series in study.ReferencedSeriesSequence
        for sop in series.ReferencedSOPSequence
    }

    assert image.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == final_doc.key_images[0].sop_instance_uid
    assert evidence == set(Instance.objects.filter(series__study=abdomen_study).values_list("sop_instance_uid", flat=True))


def test_dcmtk_dsrdump_reads_it_and_prints_the_findings(final_doc, abdomen_study, tmp_path):
    path = saved(build_sr(amended(final_doc), abdomen_study), tmp_path)

    run = subprocess.run([require_tool("dsrdump"), "+Pl", str(path)], check=False, capture_output=True, text=True, timeout=60)

    assert run.returncode == 0, run.stderr
    assert "Comprehensive SR Document" in run.stdout
    assert FINDINGS in run.stdout
    assert "Comparison with the 2023 CT added" in run.stdout
    assert "Verification Flag   : VERIFIED" in run.stdout


def test_a_preliminary_report_is_unverified_and_preliminary(final_doc, abdomen_study, tmp_path):
    ds = dcmread(saved(build_sr(replace(final_doc, status="preliminary"), abdomen_study), tmp_path))

    assert (ds.CompletionFlag, ds.VerificationFlag, ds.PreliminaryFlag) == ("COMPLETE", "UNVERIFIED", "PRELIMINARY")
    assert "VerifyingObserverSequence" not in ds


def test_an_amended_report_adds_the_addendum_and_its_signer(final_doc, abdomen_study, tmp_path):
    ds = dcmread(saved(build_sr(amended(final_doc), abdomen_study), tmp_path))
    (addendum,) = [item for item in ds.ContentSequence if item.ConceptNameCodeSequence[0].CodeMeaning == "Addendum"]

    assert ds.VerificationFlag == "VERIFIED"
    assert [o.VerificationDateTime[:8] for o in ds.VerifyingObserverSequence] == ["20240304", "20240305"]
    assert ds.InstanceNumber == 2
    assert texts(ds)["Finding"] == [FINDINGS]  # the original text is kept
    assert "Comparison with the 2023 CT added" in addendum.ContentSequence[-1].TextValue
    assert "Rita Radiologist" in addendum.ContentSequence[-1].TextValue


def test_a_critical_result_and_who_was_told_are_kept_with_the_impression(final_doc, abdomen_study, tmp_path):
    doc = replace(final_doc, critical=True, critical_communication="Told Dr House by phone at 10:40")
    ds = dcmread(saved(build_sr(doc, abdomen_study), tmp_path))

    (impression,) = texts(ds)["Impression"]
    assert impression.startswith(IMPRESSION)
    assert "CRITICAL RESULT. Communicated: Told Dr House by phone at 10:40" in impression


def test_untrusted_text_and_unicode_survive_as_utf8(final_doc, abdomen_study, tmp_path):
    doc = replace(final_doc, sections=(("Findings", "Läsion <b>&x</b> 肝臓 — ok\x00"),), signed_by="Zoë Müller")
    ds = dcmread(saved(build_sr(doc, abdomen_study), tmp_path))

    assert ds.SpecificCharacterSet == "ISO_IR 192"
    assert texts(ds)["Finding"] == ["Läsion <b>&x</b> 肝臓 — ok"]
    assert str(ds.VerifyingObserverSequence[0].VerifyingObserverName) == "Zoë Müller^"


def test_the_same_version_builds_the_same_bytes_and_the_next_version_a_new_instance(final_doc, abdomen_study, tmp_path):
    first = build_sr(final_doc, abdomen_study)
    again = build_sr(final_doc, abdomen_study)
    later = build_sr(amended(final_doc), abdomen_study)

    first.save_as(tmp_path / "a.dcm", enforce_file_format=True)
    again.save_as(tmp_path / "b.dcm", enforce_file_format=True)
    assert (tmp_path / "a.dcm").read_bytes() == (tmp_path / "b.dcm").read_bytes()
    assert later.SeriesInstanceUID == first.SeriesInstanceUID
    assert later.SOPInstanceUID != first.SOPInstanceUID


def test_a_cancelled_report_has_no_sr(final_doc, abdomen_study):
    with pytest.raises(ValueError, match="cancelled"):
        build_sr(replace(final_doc, status="cancelled"), abdomen_study)


def test_a_key_frame_of_a_multiframe_image_is_referenced_by_its_frame_number(final_doc, abdomen_study, alice, tmp_path):
    from studies.ingest import Origin, ingest_file
    from tests.conftest import write_dicom

    path = write_dicom(tmp_path / "multi.dcm", frames=3, StudyInstanceUID=abdomen_study.study_instance_uid, PatientID=final_doc.patient_id, SeriesNumber=7)
    assert ingest_file(path, origin=Origin(user_id=alice.id)).ok
    multi = Instance.objects.get(number_of_frames=3)
    key = replace(final_doc.key_images[0], series_instance_uid=multi.series.series_instance_uid, sop_instance_uid=multi.sop_instance_uid, frame=2)

    ds = dcmread(saved(build_sr(replace(final_doc, key_images=(key,)), abdomen_study), tmp_path))
    (key_images,) = [item for item in ds.ContentSequence if item.ConceptNameCodeSequence[0].CodeValue == "121180"]
    (image,) = [item for item in key_images.ContentSequence if item.ValueType == "IMAGE"]

    assert image.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == multi.sop_instance_uid
    assert image.ReferencedSOPSequence[0].ReferencedFrameNumber == 2


def test_a_key_image_that_is_not_in_the_study_is_left_out(final_doc, abdomen_study, tmp_path):
    stranger = replace(final_doc.key_images[0], sop_instance_uid="1.2.3.4.5.6.7")
    ds = dcmread(saved(build_sr(replace(final_doc, key_images=(stranger,)), abdomen_study), tmp_path))

    assert not [item for item in ds.ContentSequence if item.ConceptNameCodeSequence[0].CodeValue == "121180"]
