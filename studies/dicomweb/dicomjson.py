"""DICOM JSON (PS3.18 F.2) built from the index, and the URLs DICOMweb answers point to."""
from __future__ import annotations

from datetime import date, time

from django.urls import reverse
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword

MEDIA_DICOM_JSON = "application/dicom+json"


def tag_of(attribute: str) -> str | None:
    """``PatientName`` or ``00100010`` → ``"00100010"``; None for anything else."""
    if len(attribute) == 8 and all(c in "0123456789abcdefABCDEF" for c in attribute):
        return attribute.upper()
    tag = tag_for_keyword(attribute)
    return f"{tag:08X}" if tag is not None else None


def keyword_of(tag: str) -> str:
    return keyword_for_tag(int(tag, 16)) or tag


def vr_of(tag: str) -> str:
    try:
        return dictionary_VR(int(tag, 16)).split(" or ")[0]
    except KeyError:
        return "UN"


def element(vr: str, *values) -> dict:
    """One DICOM JSON attribute; empty values give the attribute without "Value" (PS3.18 F.2.5)."""
    present = [v for v in values if v is not None and v != ""]
    if not present:
        return {"vr": vr}
    if vr == "PN":
        return {"vr": vr, "Value": [{"Alphabetic": str(v)} for v in present]}
    if vr == "DA":
        present = [v.strftime("%Y%m%d") if isinstance(v, date) else v for v in present]
    elif vr == "TM":
        present = [_tm(v) if isinstance(v, time) else v for v in present]
    return {"vr": vr, "Value": present}


def _tm(value: time) -> str:
    text = value.strftime("%H%M%S")
    return f"{text}.{value.microsecond:06d}" if value.microsecond else text


def multi(vr: str, backslashed: str) -> dict:
    """A multi-valued string kept backslash-separated in the index (e.g. ModalitiesInStudy)."""
    return element(vr, *[v for v in backslashed.split("\\") if v])


# --- URLs -------------------------------------------------------------------------------------


def studies_url(request) -> str:
    """Absolute URL of /dicomweb/studies for this request's host (RetrieveURL, BulkDataURI)."""
    return request.build_absolute_uri(reverse("dicomweb:studies"))


def study_url(base: str, study_uid: str) -> str:
    return f"{base}/{study_uid}"


def series_url(base: str, study_uid: str, series_uid: str) -> str:
    return f"{base}/{study_uid}/series/{series_uid}"


def instance_url(base: str, study_uid: str, series_uid: str, sop_uid: str) -> str:
    return f"{base}/{study_uid}/series/{series_uid}/instances/{sop_uid}"


# --- What "includefield=all" means above the instance level ------------------------------------
# The index keeps one row per study and series; their other attributes come from the stored
# JSON of one of their instances, limited to the modules of that level.

# PS3.3 C.7.1.1 Patient, C.7.2.1 General Study, C.7.2.2 Patient Study.
STUDY_MODULE_KEYWORDS = (
    "PatientName", "PatientID", "IssuerOfPatientID", "TypeOfPatientID", "IssuerOfPatientIDQualifiersSequence",
    "PatientBirthDate", "PatientBirthTime", "PatientSex", "OtherPatientIDsSequence", "OtherPatientNames",
    "EthnicGroup", "PatientComments", "PatientSpeciesDescription", "PatientBreedDescription",
    "ResponsiblePerson", "ResponsibleOrganization", "PatientIdentityRemoved", "DeidentificationMethod",
    "DeidentificationMethodCodeSequence",
    "StudyInstanceUID", "StudyDate", "StudyTime", "ReferringPhysicianName", "ReferringPhysicianIdentificationSequence",
    "StudyID", "AccessionNumber", "IssuerOfAccessionNumberSequence", "StudyDescription", "PhysiciansOfRecord",
    "NameOfPhysiciansReadingStudy", "RequestingService", "ProcedureCodeSequence", "ReasonForPerformedProcedureCodeSequence",
    "AdmittingDiagnosesDescription", "AdmittingDiagnosesCodeSequence", "PatientAge", "PatientSize", "PatientWeight",
    "MedicalAlerts", "Allergies", "SmokingStatus", "PregnancyStatus", "AdditionalPatientHistory", "Occupation",
    "AdmissionID", "IssuerOfAdmissionIDSequence", "TimezoneOffsetFromUTC",
)

# PS3.3 C.7.3.1 General Series, C.7.4.1 Frame of Reference, C.7.5.1 General Equipment.
SERIES_MODULE_KEYWORDS = (
    "Modality", "SeriesInstanceUID", "SeriesNumber", "Laterality", "SeriesDate", "SeriesTime",
    "PerformingPhysicianName", "ProtocolName", "SeriesDescription", "SeriesDescriptionCodeSequence",
    "OperatorsName", "ReferencedPerformedProcedureStepSequence", "RelatedSeriesSequence", "BodyPartExamined",
    "PatientPosition", "SmallestPixelValueInSeries", "LargestPixelValueInSeries", "RequestAttributesSequence",
    "PerformedProcedureStepID", "PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime",
    "PerformedProcedureStepDescription", "PerformedProtocolCodeSequence", "CommentsOnThePerformedProcedureStep",
    "AnatomicalOrientationType", "FrameOfReferenceUID", "PositionReferenceIndicator",
    "Manufacturer", "InstitutionName", "InstitutionAddress", "StationName", "InstitutionalDepartmentName",
    "ManufacturerModelName", "DeviceSerialNumber", "SoftwareVersions", "SpatialResolution",
    "DateOfLastCalibration", "TimeOfLastCalibration", "PixelPaddingValue",
)

STUDY_MODULE_TAGS = frozenset(f"{tag_for_keyword(k):08X}" for k in STUDY_MODULE_KEYWORDS)
SERIES_MODULE_TAGS = frozenset(f"{tag_for_keyword(k):08X}" for k in SERIES_MODULE_KEYWORDS)
