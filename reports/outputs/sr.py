"""The signed report as a DICOM Comprehensive SR in its study, built with highdicom.

Content: TID 2000 Basic Diagnostic Imaging Report (PS3.16): the root CONTAINER "Diagnostic
Imaging Report" (LOINC 18748-4), the observer context (the signing radiologist, TID 1002),
then one CONTAINER per section heading (CID 7001) holding a TEXT item (CID 7002), a "Key
Images" container with IMAGE items, and one "Addendum" container per addendum.

Where it goes: one series per report (Modality SR, "Lumen report", SeriesNumber 9000 + report id
mod 1000), one instance per signed version (InstanceNumber = version). A new version or addendum is
a new instance with a new SOP Instance UID that lists the earlier ones in
PredecessorDocumentsSequence (PS3.3 C.17.2.3); nothing stored is ever replaced. Both UIDs are
derived from (installation secret, study, report, version), and every date in the object comes
from the signatures, so building the same version twice gives the same bytes: a repeated store
answers "already stored".

Flags (PS3.3 C.17.2): CompletionFlag COMPLETE always (a signed text is whole); final and amended
are PreliminaryFlag FINAL, VerificationFlag VERIFIED with one VerifyingObserverSequence item per
signature; preliminary is PRELIMINARY and UNVERIFIED. A cancelled report has no SR.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import tempfile
import uuid
import warnings
from datetime import datetime
from pathlib import Path

import highdicom as hd
from django.conf import settings
from django.utils import timezone
from pydicom import Dataset, dcmread
from pydicom.sr.codedict import codes
from pydicom.valuerep import DT

from reports.outputs.document import SECTIONS, ReportDocument
from reports.outputs.text import clean, effective_status, format_datetime
from studies.ingest import IngestResult, Origin, ingest_file
from studies.models import Instance, Study
from studies.storage import dicom_storage

logger = logging.getLogger(__name__)

SERIES_DESCRIPTION = "Lumen report"
MANUFACTURER = "Lumen PACS"
REPORT_TITLE = hd.sr.CodedConcept("18748-4", "LN", "Diagnostic imaging report")
ILLUSTRATION = hd.sr.CodedConcept("125201", "DCM", "Illustration of Finding")
SR_MODALITIES = {"SR"}

# Section heading → (heading container, text item), PS3.16 CID 7001 and CID 7002.
SECTION_CODES: dict[str, tuple] = {
    "clinical_information": (codes.DCM.History, codes.DCM.Comment),
    "technique": (codes.DCM.CurrentProcedureDescriptions, codes.DCM.ProcedureDescription),
    "comparison": (codes.DCM.PriorProcedureDescriptions, codes.DCM.Comment),
    "findings": (codes.DCM.Findings, codes.DCM.Finding),
    "impression": (codes.DCM.Impressions, codes.DCM.Impression),
    "recommendations": (codes.DCM.Recommendations, codes.DCM.Recommendation),
}
_HEADING_KEYS = {heading: key for key, heading in SECTIONS}


class SRStoreError(Exception):
    """The funnel rejected the SR; ``result`` says why."""

    def __init__(self, result: IngestResult):
        super().__init__(f"the report SR was rejected: {result.reason} ({result.code})")
        self.result = result


def store_sr(doc: ReportDocument) -> IngestResult:
    """Build the SR of ``doc`` and store it in its study through the ingest funnel (stored or
    already stored); raises SRStoreError when the funnel rejects it, Study.DoesNotExist without the study."""
    study = Study.objects.get(study_instance_uid=doc.study_instance_uid)
    sr = build_sr(doc, study)
    spool = Path(settings.SPOOL_DIR)
    spool.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=spool, prefix="report-sr-", suffix=".dcm") as handle:
        sr.save_as(handle.name, enforce_file_format=True)
        # Lumen's own object in a study it holds: no person behind it, and it must not open a
        # private study (e.g. assigned to one radiologist) to the reading pool.
        result = ingest_file(Path(handle.name), origin=Origin(internal=True))
    if not result.ok:
        logger.error("report %s version %s: SR rejected by the funnel: %s", doc.report_id, doc.version, result.reason)
        raise SRStoreError(result)
    logger.info("report %s version %s: SR %s %s", doc.report_id, doc.version, result.sop_instance_uid, result.outcome)
    return result


def build_sr(doc: ReportDocument, study: Study) -> hd.sr.ComprehensiveSR:
    """The SR of ``doc`` for ``study`` (a pydicom Dataset); ValueError for a cancelled report or a study without images."""
    status = effective_status(doc)
    if status == "cancelled":
        raise ValueError("a cancelled report has no SR")
    if study.study_instance_uid != doc.study_instance_uid:
        raise ValueError("the report belongs to another study")
    series_uid = report_series_uid(doc)
    images = list(
        Instance.objects.filter(series__study=study)
        .exclude(series__modality__in=SR_MODALITIES)
        .exclude(series__series_instance_uid=series_uid)
        .select_related("series")
        .defer("dicom_json")
        .order_by("series__series_number", "series__series_instance_uid", "instance_number", "sop_instance_uid")
    )
    if not images:
        raise ValueError("the study has no image to report on")
    by_uid = {instance.sop_instance_uid: instance for instance in images}
    key_images = [key for key in doc.key_images if key.sop_instance_uid in by_uid]
    for key in doc.key_images:
        if key.sop_instance_uid not in by_uid:
            logger.warning("report %s: key image %s is not in the study; left out of the SR", doc.report_id, key.sop_instance_uid)
    # Patient and study modules come from a stored header (the first key image, else the first image).
    first = by_uid[key_images[0].sop_instance_uid] if key_images else images[0]
    evidence = [_stored_header(first)] + [_reference(study, i) for i in images if i is not first]

    final = status in ("final", "amended")
    signed_last = max([doc.signed_at, *(a.signed_at for a in doc.addenda)])
    local_first, local_last = _local(doc.signed_at), _local(signed_last)
    with warnings.catch_warnings():
        # highdicom warns when the stored PatientName has one component ("CRLM-CT-1006"): it is
        # copied as the modality wrote it, which is right for an object of the same study.
        warnings.filterwarnings("ignore", message=".*unlikely to represent the intended person name", category=UserWarning)
        sr = hd.sr.ComprehensiveSR(
            evidence=evidence,
            content=_content(doc, key_images, by_uid),
            series_instance_uid=series_uid,
            series_number=9000 + doc.report_id % 1000,
            sop_instance_uid=report_instance_uid(doc),
            instance_number=doc.version,
            manufacturer=MANUFACTURER,
            is_complete=True,
            is_final=final,
            is_verified=final,
            institution_name=clean(doc.institution)[:64] or None,
            verifying_observer_name=_person_name(doc.signed_by) if final else None,
            verifying_organization=clean(doc.institution)[:64] or MANUFACTURER if final else None,
            previous_versions=_previous_versions(study, series_uid, doc.version) or None,
            series_description=SERIES_DESCRIPTION,
            series_date=local_first.date(),
            series_time=local_first.time().replace(microsecond=0),
            content_date=local_last.date(),
            content_time=local_last.time().replace(microsecond=0),
            specific_character_set="ISO_IR 192",  # UTF-8: report text and names in any script
        )
    # highdicom stamps creation and verification with "now"; the signatures decide instead, so
    # the same version always makes the same object (idempotent store).
    sr.InstanceCreationDate = local_last.strftime("%Y%m%d")
    sr.InstanceCreationTime = local_last.strftime("%H%M%S")
    if local_last.tzinfo is not None:
        sr.TimezoneOffsetFromUTC = local_last.strftime("%z")
    for item in sr.get("ContributingEquipmentSequence", []):
        item.ContributionDateTime = DT(local_last.replace(microsecond=0))
    if final:
        sr.VerifyingObserverSequence = [_verifier(name, when, doc.institution) for name, when in _signatures(doc)]
    return sr


def report_series_uid(doc: ReportDocument) -> str:
    return _uid("series", doc.study_instance_uid, doc.report_id)


def report_instance_uid(doc: ReportDocument) -> str:
    return _uid("instance", doc.study_instance_uid, doc.report_id, doc.version)


def _uid(*parts) -> str:
    """A 2.25 UID (PS3.5 B.2: the integer of a UUID) that depends only on ``parts`` and this
    installation: a name-based UUID from an HMAC keyed with SECRET_KEY, which it does not reveal."""
    message = "\x00".join(map(str, parts)).encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), b"lumen-report-sr\x00" + message, hashlib.sha256).digest()
    return f"2.25.{uuid.UUID(bytes=digest[:16], version=5).int}"


def _content(doc: ReportDocument, key_images: list, by_uid: dict) -> hd.sr.ContainerContentItem:
    contains = hd.sr.RelationshipTypeValues.CONTAINS
    root = hd.sr.ContainerContentItem(name=REPORT_TITLE, template_id="2000")
    children: list = list(
        hd.sr.ObserverContext(
            observer_type=codes.DCM.Person,
            observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name=_person_name(doc.signed_by)),
        )
    )
    sections = {_HEADING_KEYS.get(heading, heading): clean(text).strip() for heading, text in doc.sections}
    if doc.critical:
        # Kept with the impression, where a reader of the SR looks for what must be acted on.
        note = "CRITICAL RESULT." + (f" Communicated: {clean(doc.critical_communication).strip()}" if doc.critical_communication.strip() else "")
        sections["impression"] = "\n".join(part for part in (sections.get("impression", ""), note) if part)
    for key, text in sections.items():
        if not text:
            continue
        heading_code, text_code = SECTION_CODES.get(key, (codes.DCM.Findings, codes.DCM.Comment))
        if key not in SECTION_CODES:
            text = f"{key}: {text}"  # a heading this module does not know keeps its name in the text
        container = hd.sr.ContainerContentItem(name=heading_code, relationship_type=contains)
        container.ContentSequence = [hd.sr.TextContentItem(name=text_code, value=text, relationship_type=contains)]
        children.append(container)
    if key_images:
        container = hd.sr.ContainerContentItem(name=codes.DCM.KeyImages, relationship_type=contains)
        items = []
        for key in key_images:
            instance = by_uid[key.sop_instance_uid]
            if clean(key.caption).strip():
                items.append(hd.sr.TextContentItem(name=codes.DCM.Comment, value=clean(key.caption).strip(), relationship_type=contains))
            items.append(
                hd.sr.ImageContentItem(
                    name=ILLUSTRATION,
                    referenced_sop_class_uid=instance.sop_class_uid,
                    referenced_sop_instance_uid=instance.sop_instance_uid,
                    referenced_frame_numbers=[key.frame] if instance.number_of_frames > 1 else None,
                    relationship_type=contains,
                )
            )
        container.ContentSequence = items
        children.append(container)
    for addendum in doc.addenda:
        container = hd.sr.ContainerContentItem(name=codes.DCM.Addendum, relationship_type=contains)
        items = list(
            hd.sr.ObserverContext(
                observer_type=codes.DCM.Person,
                observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name=_person_name(addendum.signed_by)),
            )
        )
        text = clean(addendum.text).strip() or "(empty)"
        signed = f"Electronically signed by {clean(addendum.signed_by)} on {format_datetime(addendum.signed_at)}"
        items.append(hd.sr.TextContentItem(name=codes.DCM.Comment, value=f"{text}\n{signed}", relationship_type=contains))
        container.ContentSequence = items
        children.append(container)
    root.ContentSequence = children
    return root


def _stored_header(instance: Instance) -> Dataset:
    """The stored file's header (no pixel data), with the Type 2 attributes highdicom copies made present."""
    with _open_stored(instance.storage_key) as source:
        header = dcmread(source, stop_before_pixels=True)
    for keyword in ("PatientID", "PatientName", "PatientBirthDate", "PatientSex", "AccessionNumber", "StudyID", "StudyDate", "StudyTime", "ReferringPhysicianName"):
        if keyword not in header:
            setattr(header, keyword, None)
    return header


def _open_stored(key: str):
    """The stored file, as studies.rendering opens it: a local path when the storage has one."""
    storage = dicom_storage()
    try:
        return open(storage.path(key), "rb")  # the caller closes it
    except NotImplementedError:  # an object store: Django's File is file-like enough for pydicom
        return storage.open(key, "rb")


def _reference(study: Study, instance: Instance) -> Dataset:
    """An evidence item from the index: the four UIDs are all the evidence sequence lists."""
    ds = Dataset()
    ds.StudyInstanceUID = study.study_instance_uid
    ds.SeriesInstanceUID = instance.series.series_instance_uid
    ds.SOPInstanceUID = instance.sop_instance_uid
    ds.SOPClassUID = instance.sop_class_uid
    return ds


def _previous_versions(study: Study, series_uid: str, version: int) -> list[Dataset]:
    earlier = Instance.objects.filter(
        series__study=study, series__series_instance_uid=series_uid, instance_number__lt=version
    ).select_related("series").order_by("instance_number")
    return [_reference(study, instance) for instance in earlier]


def _signatures(doc: ReportDocument) -> list[tuple[str, datetime]]:
    return [(doc.signed_by, doc.signed_at), *((a.signed_by, a.signed_at) for a in doc.addenda)]


def _verifier(name: str, when: datetime, institution: str) -> Dataset:
    item = Dataset()
    item.VerifyingObserverName = _person_name(name)
    item.VerifyingOrganization = clean(institution)[:64] or MANUFACTURER
    item.VerificationDateTime = DT(_local(when).replace(microsecond=0))
    item.VerifyingObserverIdentificationCodeSequence = []  # Type 2, no coded identity of people here
    return item


def _person_name(display_name: str) -> str:
    """A display name as PN. "Rita Smith" has no components we can trust, so it is one family
    component ("Rita Smith^"), printed as written; a name that is PN already stays as it is."""
    name = clean(display_name).replace("\n", " ").strip() or "Unknown"
    return name if "^" in name else f"{name}^"


def _local(value: datetime) -> datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value
