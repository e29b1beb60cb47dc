"""The report as a FHIR R4 DiagnosticReport: parsed by fhir.resources (R4B models: identical to R4
for DiagnosticReport, ImagingStudy, Patient and Practitioner), plus the R4 rules the parser does
not check: required bindings of the codes we use, contained references, no empty values."""
from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest
from fhir.resources.R4B.diagnosticreport import DiagnosticReport

from reports.outputs.fhir import diagnostic_report
from tests.reports.outputs.conftest import FINDINGS, IMPRESSION, amended

pytestmark = pytest.mark.django_db

BASE = "https://pacs.example.org"
# R4 required bindings (hl7.org/fhir/R4/valueset-diagnostic-report-status.html, -imagingstudy-status, -administrative-gender).
REPORT_STATUSES = {"registered", "partial", "preliminary", "final", "amended", "corrected", "appended", "cancelled", "entered-in-error", "unknown"}
STUDY_STATUSES = {"registered", "available", "cancelled", "entered-in-error", "unknown"}
GENDERS = {"male", "female", "other", "unknown"}


def contained(report: dict, resource_type: str) -> list[dict]:
    return [r for r in report["contained"] if r["resourceType"] == resource_type]


def references(value) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if "reference" in value else []
        return found + [r for v in value.values() for r in references(v)]
    if isinstance(value, list):
        return [r for v in value for r in references(v)]
    return []


def test_a_final_report_parses_as_an_r4_diagnostic_report_with_the_radiology_codes(final_doc):
    report = diagnostic_report(final_doc, base_url=BASE, pdf_url=f"{BASE}/api/reports/41/pdf")

    parsed = DiagnosticReport.model_validate(json.loads(json.dumps(report)))

    assert parsed.status == "final"
    codings = {(c["system"], c["code"]) for c in report["category"][0]["coding"]}
    assert codings == {("http://loinc.org", "LP29684-5"), ("http://terminology.hl7.org/CodeSystem/v2-0074", "RAD")}
    assert report["code"]["coding"] == [{"system": "http://loinc.org", "code": "18748-4", "display": "Diagnostic imaging study"}]
    assert report["identifier"] == [{"use": "official", "system": f"{BASE}/reports", "value": "41"}]
    assert report["conclusion"] == IMPRESSION
    assert report["issued"] == "2024-03-04T10:30:00+00:00"
    assert report["effectiveDateTime"] == final_doc.study_date.isoformat()


def test_the_subject_the_signer_and_the_imaging_study_are_contained_and_referenced(final_doc):
    report = diagnostic_report(final_doc, base_url=BASE)
    (patient,) = contained(report, "Patient")
    (study,) = contained(report, "ImagingStudy")
    (signer,) = contained(report, "Practitioner")

    assert report["subject"]["reference"] == "#patient"
    assert patient["identifier"][0]["value"] == final_doc.patient_id
    assert patient["gender"] in GENDERS
    assert report["performer"] == report["resultsInterpreter"] == [{"reference": f"#{signer['id']}", "display": "Rita Radiologist"}]
    assert report["imagingStudy"] == [{"reference": "#study"}]
    assert {"system": "urn:dicom:uid", "value": f"urn:oid:{final_doc.study_instance_uid}"} in study["identifier"]
    assert [m["code"] for m in study["modality"]] == list(final_doc.modalities)
    assert study["status"] in STUDY_STATUSES
    # dom-3: every contained resource is referenced from the report.
    assert {f"#{r['id']}" for r in report["contained"]} <= set(references(report))
    # dom-4/dom-5: contained resources carry neither narrative, meta nor contained.
    assert all(not {"text", "meta", "contained"} & set(r) for r in report["contained"])


def test_the_whole_report_is_presented_as_text_and_the_pdf_by_url(final_doc):
    report = diagnostic_report(final_doc, base_url=BASE, pdf_url=f"{BASE}/api/reports/41/pdf")
    text, pdf = report["presentedForm"]

    body = base64.b64decode(text["data"]).decode("utf-8")
    assert text["contentType"].startswith("text/plain")
    assert FINDINGS in body and IMPRESSION in body and "Rita Radiologist" in body
    assert pdf == {"contentType": "application/pdf", "url": f"{BASE}/api/reports/41/pdf", "title": "Radiology report 41 (PDF)", "creation": report["issued"]}


def test_without_a_pdf_url_only_the_text_is_presented(final_doc):
    assert [f["contentType"] for f in diagnostic_report(final_doc, base_url=BASE)["presentedForm"]] == ["text/plain; charset=utf-8"]


@pytest.mark.parametrize("status", ["preliminary", "final", "cancelled"])
def test_the_report_status_maps_to_the_r4_status(final_doc, status):
    report = diagnostic_report(replace(final_doc, status=status), base_url=BASE)

    assert report["status"] == status
    assert report["status"] in REPORT_STATUSES
    DiagnosticReport.model_validate(report)


def test_an_addendum_makes_it_amended_issued_at_the_addendum_with_both_interpreters(final_doc):
    doc = amended(final_doc)
    doc = replace(doc, addenda=(replace(doc.addenda[0], signed_by="Bob Second-Reader"),))
    report = diagnostic_report(doc, base_url=BASE)

    assert report["status"] == "amended"
    assert report["issued"] == "2024-03-05T08:15:00+00:00"
    assert [i["display"] for i in report["resultsInterpreter"]] == ["Rita Radiologist", "Bob Second-Reader"]
    assert "Comparison with the 2023 CT added" in base64.b64decode(report["presentedForm"][0]["data"]).decode()
    DiagnosticReport.model_validate(report)


def test_markup_in_the_text_is_escaped_in_the_narrative_and_nothing_is_empty(final_doc):
    doc = replace(final_doc, sections=(("Findings", "<script>alert(1)</script> & more"),), accession_number="", study_description="")
    report = diagnostic_report(doc, base_url=BASE)

    assert "<script>" not in report["text"]["div"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in report["text"]["div"]
    assert "conclusion" not in report  # no impression written

    def no_empty(value):
        if isinstance(value, dict):
            assert value, "empty object"
            for v in value.values():
                no_empty(v)
        elif isinstance(value, list):
            assert value, "empty array"
            for v in value:
                no_empty(v)
        else:
            assert value not in ("", None)

    no_empty(report)  # ele-1
    DiagnosticReport.model_validate(report)
