"""Text every output shares: person names for print, status labels, and the whole report as plain text."""
from __future__ import annotations

import re
from datetime import date, datetime

from django.utils import timezone

from reports.outputs.document import ReportDocument

STATUS_LABELS = {
    "preliminary": "PRELIMINARY",
    "final": "FINAL",
    "amended": "AMENDED",
    "cancelled": "CANCELLED",
}
SEX_LABELS = {"F": "Female", "M": "Male", "O": "Other"}

# C0 and C1 controls except tab and newline: reportlab's parser and PDF strings choke on them,
# and nothing a person typed needs them.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """Untrusted text with newlines normalised and control characters removed."""
    return _CONTROLS.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n"))


def format_person_name(pn: str) -> str:
    """DICOM PN (``Family^Given^Middle^Prefix^Suffix``, groups split by ``=``) as a person reads it.

    "Doe^Jane" → "Doe, Jane"; "Yamada^Tarou=山田^太郎" → "Yamada, Tarou (山田 太郎)" (PS3.5 6.2.1:
    the alphabetic group first, then the ideographic one). A name without carets is left as is.
    """
    groups = [g for g in clean(pn).strip().split("=") if g.strip("^ ")]
    if not groups:
        return ""
    first = _format_group(groups[0])
    if len(groups) > 1:
        # The ideographic group is written family-then-given without a comma, as in Japanese.
        second = " ".join(p.strip() for p in groups[1].split("^") if p.strip())
        if second and second != first:
            return f"{first} ({second})"
    return first


def _format_group(group: str) -> str:
    family, given, middle, prefix, suffix = ([p.strip() for p in group.split("^")] + [""] * 5)[:5]
    forenames = " ".join(p for p in (prefix, given, middle) if p)
    name = f"{family}, {forenames}" if family and forenames else family or forenames
    return f"{name}, {suffix}" if suffix else name


def format_date(value: date | None) -> str:
    return value.isoformat() if value else ""


def format_datetime(value: datetime | None) -> str:
    """Local time of the installation (TIME_ZONE), to the minute, with the zone name."""
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.strftime("%Y-%m-%d %H:%M %Z").strip()


def format_sex(code: str) -> str:
    return SEX_LABELS.get((code or "").strip().upper(), clean(code))


def effective_status(doc: ReportDocument) -> str:
    """The status the outputs show: a final report with addenda is amended."""
    return "amended" if doc.status == "final" and doc.addenda else doc.status


def status_label(doc: ReportDocument) -> str:
    status = effective_status(doc)
    return STATUS_LABELS.get(status, clean(status).upper())


def plain_text(doc: ReportDocument) -> str:
    """The whole report as plain text (FHIR presentedForm, mail-free archives): what the PDF says, without layout."""
    lines = [
        clean(doc.institution),
        f"Radiology report — {status_label(doc)}",
        "",
        f"Patient: {format_person_name(doc.patient_name)}",
        f"Patient ID: {clean(doc.patient_id)}",
        f"Birth date: {format_date(doc.patient_birth_date)}",
        f"Sex: {format_sex(doc.patient_sex)}",
        f"Accession: {clean(doc.accession_number)}",
        f"Study date: {format_date(doc.study_date)}",
        f"Study: {clean(doc.study_description)}",
        f"Modalities: {', '.join(clean(m) for m in doc.modalities)}",
        f"Referring physician: {format_person_name(doc.referring_physician)}",
        "",
    ]
    if doc.critical:
        lines += ["CRITICAL RESULT", clean(doc.critical_communication), ""]
    for heading, text in doc.sections:
        lines += [clean(heading).upper(), clean(text).strip(), ""]
    lines.append(f"Electronically signed by {clean(doc.signed_by)} on {format_datetime(doc.signed_at)}")
    for number, addendum in enumerate(doc.addenda, start=1):
        lines += [
            "",
            f"ADDENDUM {number}",
            clean(addendum.text).strip(),
            f"Electronically signed by {clean(addendum.signed_by)} on {format_datetime(addendum.signed_at)}",
        ]
    lines += ["", f"Report {doc.report_id}, version {doc.version}"]
    return "\n".join(lines) + "\n"
