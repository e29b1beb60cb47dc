"""The signed report as plain data: the one input of every output (PDF, SR, FHIR).

The reports app builds it from a report version (``reports.services``); outputs never
touch the database for report content.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

# Section headings in reading order; the editor, the PDF and the SR use the same ones.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("clinical_information", "Clinical information"),
    ("technique", "Technique"),
    ("comparison", "Comparison"),
    ("findings", "Findings"),
    ("impression", "Impression"),
    ("recommendations", "Recommendations"),
)


@dataclass(frozen=True)
class KeyImage:
    """A frame the radiologist marked for the report, already rendered for print."""

    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    frame: int  # 1-based
    png: bytes
    caption: str = ""


@dataclass(frozen=True)
class Addendum:
    text: str
    signed_by: str
    signed_at: datetime


@dataclass(frozen=True)
class ReportDocument:
    report_id: int
    version: int  # 1 for the first signed text; each addendum adds one
    status: str  # "preliminary" | "final" | "amended" | "cancelled"
    patient_name: str  # DICOM PN as stored (e.g. "Doe^Jane"); outputs format it
    patient_id: str
    patient_birth_date: date | None
    patient_sex: str
    study_instance_uid: str
    accession_number: str
    study_date: date | None
    study_description: str
    modalities: tuple[str, ...]
    referring_physician: str
    sections: tuple[tuple[str, str], ...]  # (heading, text) in SECTIONS order; empty texts left out
    signed_by: str  # display name of the signing radiologist
    signed_at: datetime
    institution: str = "Lumen PACS"
    addenda: tuple[Addendum, ...] = ()
    critical: bool = False
    critical_communication: str = ""  # who was told and when, as recorded
    key_images: tuple[KeyImage, ...] = field(default_factory=tuple)
