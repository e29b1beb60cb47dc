"""C-FIND answers written from index values (studies/dimse/encoding.py) are the bytes pydicom
would write for the same answer, in both Little Endian transfer syntaxes, non-ASCII names included."""
from __future__ import annotations

from datetime import date, time
from io import BytesIO

import pytest
from pydicom import Dataset
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom.dsutils import decode, encode

from studies.dimse import find

RADIOLOGY_KEYS = (
    "StudyInstanceUID", "PatientName", "PatientID", "PatientBirthDate", "StudyDate", "StudyTime", "AccessionNumber",
    "StudyDescription", "ReferringPhysicianName", "ModalitiesInStudy", "NumberOfStudyRelatedInstances",
)  # fmt: skip


def query(level: str, *keywords: str, **values) -> Dataset:
    identifier = Dataset()
    identifier.QueryRetrieveLevel = level
    for keyword in keywords:
        setattr(identifier, keyword, values.get(keyword, ""))
    return identifier


def müller_study(**overrides) -> dict:
    """Index values of one study, as index_rows yields them."""
    return {
        "pk": 1,
        "StudyInstanceUID": "1.2.826.0.1.3680043.8.498.1",  # 27 characters: padded with NUL
        "PatientName": "Müller^Jürgen=山田^太郎",  # non-ASCII, two component groups
        "PatientID": "P-ÄÖÜ-7",
        "PatientBirthDate": date(1961, 2, 3),
        "StudyDate": date(2024, 11, 5),
        "StudyTime": time(8, 30, 1, 250000),
        "AccessionNumber": "A123",
        "StudyDescription": "CT THORAX",  # odd length: padded with a space
        "ReferringPhysicianName": "",
        "ModalitiesInStudy": "CT\\PT",
        "NumberOfStudyRelatedInstances": 417,
        **overrides,
    }


@pytest.mark.parametrize("syntax", [ImplicitVRLittleEndian, ExplicitVRLittleEndian], ids=["implicit", "explicit"])
@pytest.mark.parametrize(
    "values",
    [müller_study(), müller_study(StudyTime=time(23, 59), PatientBirthDate=None, StudyDescription="", NumberOfStudyRelatedInstances=0)],
    ids=["full", "empties"],
)
def test_a_study_answer_from_the_index_is_byte_for_byte_what_pydicom_writes(syntax, values):
    plan = find.response_plan(query("STUDY", *RADIOLOGY_KEYS))
    encoder = find.index_encoder("STUDY", plan, syntax)

    assert encoder is not None
    assert encoder.encode(values) == encode(find.response("STUDY", values, plan), syntax.is_implicit_VR, True, False)


def test_an_image_answer_writes_rows_and_columns_as_binary_us_like_pydicom():
    plan = find.response_plan(query("IMAGE", "SOPInstanceUID", "Rows", "Columns", "NumberOfFrames", "InstanceNumber"))
    values = {"pk": 9, "SOPInstanceUID": "1.2.3.44", "Rows": 512, "Columns": 640, "NumberOfFrames": 1, "InstanceNumber": None}
    for syntax in (ImplicitVRLittleEndian, ExplicitVRLittleEndian):
        encoder = find.index_encoder("IMAGE", plan, syntax)
        assert encoder.encode(values) == encode(find.response("IMAGE", values, plan), syntax.is_implicit_VR, True, False)


def test_a_non_ascii_name_reads_back_as_stored_under_the_declared_character_set():
    plan = find.response_plan(query("STUDY", "PatientName", "PatientID"))
    encoded = find.index_encoder("STUDY", plan, ExplicitVRLittleEndian).encode(müller_study())

    answer = decode(BytesIO(encoded), False, True)

    assert answer.SpecificCharacterSet == "ISO_IR 192"
    assert str(answer.PatientName) == "Müller^Jürgen=山田^太郎"
    assert answer.PatientID == "P-ÄÖÜ-7"
    assert answer.QueryRetrieveLevel == "STUDY"
    assert answer.RetrieveAETitle == "LUMEN"


def test_every_requested_key_comes_back_even_the_ones_the_index_leaves_empty():
    plan = find.response_plan(query("STUDY", "PatientName", "ReferringPhysicianName", "PatientBirthDate"))
    encoded = find.index_encoder("STUDY", plan, ImplicitVRLittleEndian).encode(müller_study(PatientBirthDate=None))

    answer = decode(BytesIO(encoded), True, True)

    assert answer.ReferringPhysicianName == ""
    assert answer.PatientBirthDate == ""
    assert "StudyDescription" not in answer  # not asked for


@pytest.mark.parametrize("keyword", ["InstitutionName", "ReferencedStudySequence"])
def test_a_key_the_index_has_no_column_for_leaves_the_answer_to_pydicom(keyword):
    """Its value comes from the stored header (find.response), one look-up per match."""
    plan = find.response_plan(query("STUDY", "PatientName", keyword))

    assert find.index_encoder("STUDY", plan, ImplicitVRLittleEndian) is None


@pytest.mark.parametrize("syntax", [ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian], ids=["big-endian", "deflated"])
def test_a_context_in_another_transfer_syntax_leaves_the_answer_to_pydicom(syntax):
    plan = find.response_plan(query("STUDY", "PatientName"))

    assert find.index_encoder("STUDY", plan, syntax) is None
