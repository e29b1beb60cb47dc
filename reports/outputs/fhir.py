"""The signed report as a FHIR R4 DiagnosticReport (JSON as a dict), for the REST API and webhooks.

Self-contained: the Patient, the signing radiologists (Practitioner) and the ImagingStudy are
``contained`` resources referenced with "#id", since Lumen has no FHIR server that could resolve
a reference. The ImagingStudy carries the Study Instance UID as ``urn:oid:`` in system
``urn:dicom:uid`` (R4 ImagingStudy.identifier guidance), so a receiver can fetch the images
over DICOMweb. The whole report is in ``presentedForm`` as text/plain (base64) and, when
``pdf_url`` is given, as a link to the PDF.

Status: preliminary / final / amended (a final report with addenda; R4's narrower "appended"
would also fit, "amended" is what RIS systems commonly handle) / cancelled.
"""
from __future__ import annotations

import base64
import html
from datetime import datetime

from django.utils import timezone

from reports.outputs.document import ReportDocument
from reports.outputs.text import clean, effective_status, format_person_name, plain_text

LOINC = "http://loinc.org"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
FHIR_STATUS = {"preliminary": "preliminary", "final": "final", "amended": "amended", "cancelled": "cancelled"}
GENDER = {"F": "female", "M": "male", "O": "other"}


def diagnostic_report(doc: ReportDocument, *, base_url: str, pdf_url: str | None = None) -> dict:
    """The DiagnosticReport of ``doc``; ``base_url`` (e.g. settings.LUMEN_BASE_URL) names the
    identifier system, ``pdf_url`` (absolute) adds the PDF to presentedForm."""
    base_url = base_url.rstrip("/")
    status = effective_status(doc)
    if status not in FHIR_STATUS:
        raise ValueError(f"no FHIR status for report status {status!r}")
    signers = _signers(doc)
    issued = _instant(max([doc.signed_at, *(a.signed_at for a in doc.addenda)]))
    interpreters = [{"reference": f"#{pid}", "display": name} for name, pid in signers.items()]
    report = {
        "resourceType": "DiagnosticReport",
        "id": f"report-{doc.report_id}",
        "text": {"status": "generated", "div": _narrative(doc)},
        "contained": [_patient(doc), *(_practitioner(pid, name) for name, pid in signers.items()), _imaging_study(doc)],
        "identifier": [{"use": "official", "system": f"{base_url}/reports", "value": str(doc.report_id)}],
        "status": FHIR_STATUS[status],
        "category": [
            {
                "coding": [
                    {"system": LOINC, "code": "LP29684-5", "display": "Radiology"},
                    {"system": V2_0074, "code": "RAD", "display": "Radiology"},
                ]
            }
        ],
        "code": {
            "coding": [{"system": LOINC, "code": "18748-4", "display": "Diagnostic imaging study"}],
            "text": clean(doc.study_description).strip() or "Diagnostic imaging study",
        },
        "subject": {"reference": "#patient", "display": _patient_display(doc)},
        "issued": issued,
        "performer": interpreters[:1],
        "resultsInterpreter": interpreters,
        "imagingStudy": [{"reference": "#study"}],
        "presentedForm": [
            {
                "contentType": "text/plain; charset=utf-8",
                "data": base64.b64encode(plain_text(doc).encode("utf-8")).decode("ascii"),
                "title": f"Radiology report {doc.report_id}, version {doc.version}",
                "creation": issued,
            }
        ],
    }
    if doc.study_date:
        report["effectiveDateTime"] = doc.study_date.isoformat()
    impression = _section(doc, "Impression")
    if impression:
        report["conclusion"] = impression
    if pdf_url:
        report["presentedForm"].append(
            {"contentType": "application/pdf", "url": pdf_url, "title": f"Radiology report {doc.report_id} (PDF)", "creation": issued}
        )
    return _without_empty(report)


def _signers(doc: ReportDocument) -> dict[str, str]:
    """Display name → contained id, the original signer first, each person once."""
    signers: dict[str, str] = {}
    for name in (doc.signed_by, *(a.signed_by for a in doc.addenda)):
        name = clean(name).strip() or "Unknown"
        signers.setdefault(name, f"signer-{len(signers) + 1}")
    return signers


def _patient(doc: ReportDocument) -> dict:
    family, given = _name_parts(doc.patient_name)
    patient = {
        "resourceType": "Patient",
        "id": "patient",
        "identifier": [
            {
                "type": {"coding": [{"system": V2_0203, "code": "MR", "display": "Medical record number"}]},
                "value": clean(doc.patient_id).strip(),
            }
        ],
        "name": [{"text": _patient_display(doc), "family": family, "given": given}],
        "gender": GENDER.get(clean(doc.patient_sex).strip().upper(), "unknown"),
    }
    if doc.patient_birth_date:
        patient["birthDate"] = doc.patient_birth_date.isoformat()
    return patient


def _practitioner(pid: str, name: str) -> dict:
    return {"resourceType": "Practitioner", "id": pid, "name": [{"text": name}]}


def _imaging_study(doc: ReportDocument) -> dict:
    study = {
        "resourceType": "ImagingStudy",
        "id": "study",
        "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{doc.study_instance_uid}"}],
        "status": "available",
        "modality": [{"system": DCM, "code": clean(m).strip()} for m in doc.modalities if clean(m).strip()],
        "subject": {"reference": "#patient"},
        "description": clean(doc.study_description).strip(),
    }
    if doc.accession_number.strip():
        study["identifier"].append(
            {"type": {"coding": [{"system": V2_0203, "code": "ACSN", "display": "Accession ID"}]}, "value": clean(doc.accession_number).strip()}
        )
    if doc.study_date:
        study["started"] = doc.study_date.isoformat()
    return study


def _patient_display(doc: ReportDocument) -> str:
    return format_person_name(doc.patient_name) or clean(doc.patient_id)


def _name_parts(pn: str) -> tuple[str, list[str]]:
    alphabetic = clean(pn).split("=")[0]
    parts = [p.strip() for p in alphabetic.split("^")] + [""] * 3
    return parts[0], [p for p in (parts[1], parts[2]) if p]


def _section(doc: ReportDocument, heading: str) -> str:
    for name, text in doc.sections:
        if name == heading:
            return clean(text).strip()
    return ""


def _narrative(doc: ReportDocument) -> str:
    """The XHTML narrative (R4 dom-6): the plain-text report, escaped, in a <pre>."""
    return f'<div xmlns="http://www.w3.org/1999/xhtml"><pre>{html.escape(plain_text(doc), quote=False)}</pre></div>'


def _instant(value: datetime) -> str:
    """An R4 instant: seconds and a time zone are required."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value.replace(microsecond=0).isoformat()


def _without_empty(value):
    """R4 forbids empty strings, arrays and objects (ele-1): drop them everywhere."""
    if isinstance(value, dict):
        cleaned = {k: _without_empty(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in ("", [], {}, None)}
    if isinstance(value, list):
        cleaned = [_without_empty(v) for v in value]
        return [v for v in cleaned if v not in ("", [], {}, None)]
    return value
