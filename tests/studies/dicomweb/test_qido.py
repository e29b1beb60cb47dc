"""QIDO-RS: searching studies, series and instances over HTTP (PS3.18 10.6)."""
from __future__ import annotations

import pytest
from pydicom.uid import generate_uid

from tests.studies.dicomweb.conftest import ingest_as, session_client

pytestmark = pytest.mark.django_db

PATIENT_NAME, STUDY_UID, SERIES_UID, SOP_UID = "00100010", "0020000D", "0020000E", "00080018"


def uids(answer, tag=STUDY_UID) -> list[str]:
    return [item[tag]["Value"][0] for item in answer.json()]


@pytest.fixture
def three_studies(alice, make):
    """Alice's three studies: John Doe (2019), Jane Doe (2020, CT and MR), Anna Smith (2021)."""
    john, jane, anna = generate_uid(), generate_uid(), generate_uid()
    ingest_as(
        alice,
        make(study=john, PatientName="Doe^John", PatientID="P-JOHN", StudyDate="20190101", StudyDescription="Head"),
        make(study=jane, PatientName="Doe^Jane", PatientID="P-JANE", StudyDate="20200615", AccessionNumber="ACC-7"),
        make(study=jane, PatientName="Doe^Jane", PatientID="P-JANE", StudyDate="20200615", Modality="MR", SeriesNumber=2),
        make(study=anna, PatientName="Smith^Anna", PatientID="P-ANNA", StudyDate="20211231"),
    )
    return {"john": john, "jane": jane, "anna": anna}


def test_alice_finds_her_study_with_the_default_study_attributes(alice, alice_abdomen):
    answer = session_client(alice).get("/dicomweb/studies")

    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/dicom+json"
    (study,) = answer.json()
    assert study[STUDY_UID] == {"vr": "UI", "Value": [alice_abdomen]}
    assert study[PATIENT_NAME] == {"vr": "PN", "Value": [{"Alphabetic": "CRLM-CT-1006"}]}
    assert study["00100020"]["Value"] == ["CRLM-CT-1006"]
    assert study["00080061"]["Value"] == ["CT"]  # ModalitiesInStudy
    assert study["00201206"]["Value"] == [1]  # NumberOfStudyRelatedSeries
    assert study["00201208"]["Value"] == [3]  # NumberOfStudyRelatedInstances
    assert study["00081190"]["Value"] == [f"http://testserver/dicomweb/studies/{alice_abdomen}"]
    # Attributes without a value are still listed, without "Value" (PS3.18 F.2.5).
    assert set(study) >= {"00080020", "00080030", "00080050", "00080090", "00100030", "00100040", "00200010"}


def test_charlie_finds_nothing_of_alices_just_as_for_a_uid_that_does_not_exist(alice_abdomen, charlie):
    client = session_client(charlie)
    for query in ("/dicomweb/studies", f"/dicomweb/studies?StudyInstanceUID={alice_abdomen}", "/dicomweb/series", "/dicomweb/instances"):
        answer = client.get(query)
        assert (answer.status_code, answer.json()) == (200, []), query
    for uid in (alice_abdomen, generate_uid()):
        for query in (f"/dicomweb/studies/{uid}/series", f"/dicomweb/studies/{uid}/instances"):
            answer = client.get(query)
            assert (answer.status_code, answer.json()) == (200, []), query


def test_patient_names_match_with_wildcards_in_any_case_by_keyword_or_tag(alice, three_studies):
    client = session_client(alice)

    assert sorted(uids(client.get("/dicomweb/studies?PatientName=DOE*"))) == sorted([three_studies["john"], three_studies["jane"]])
    assert uids(client.get("/dicomweb/studies?PatientName=doe^john")) == [three_studies["john"]]
    assert uids(client.get("/dicomweb/studies?00100010=SMITH*")) == [three_studies["anna"]]
    assert uids(client.get("/dicomweb/studies?PatientName=Doe^J?ne")) == [three_studies["jane"]]


def test_fuzzy_matching_finds_a_given_name_on_its_own(alice, three_studies):
    client = session_client(alice)

    assert uids(client.get("/dicomweb/studies?PatientName=john")) == []
    assert uids(client.get("/dicomweb/studies?PatientName=john&fuzzymatching=true")) == [three_studies["john"]]
    assert uids(client.get("/dicomweb/studies?PatientName=ja%20do&fuzzymatching=true")) == [three_studies["jane"]]


def test_study_dates_match_single_values_and_closed_or_open_ranges(alice, three_studies):
    client = session_client(alice)

    assert uids(client.get("/dicomweb/studies?StudyDate=20200101-20201231")) == [three_studies["jane"]]
    assert uids(client.get("/dicomweb/studies?StudyDate=-20200615")) == [three_studies["jane"], three_studies["john"]]
    assert uids(client.get("/dicomweb/studies?StudyDate=20200615-")) == [three_studies["anna"], three_studies["jane"]]
    assert uids(client.get("/dicomweb/studies?StudyDate=20190101")) == [three_studies["john"]]


def test_a_list_of_uids_matches_each_of_them(alice, three_studies):
    client = session_client(alice)
    john, anna = three_studies["john"], three_studies["anna"]

    assert sorted(uids(client.get(f"/dicomweb/studies?StudyInstanceUID={john},{anna}"))) == sorted([john, anna])
    assert sorted(uids(client.get(f"/dicomweb/studies?StudyInstanceUID={john}%5C{anna}"))) == sorted([john, anna])


def test_modalities_in_study_matches_a_study_with_any_series_of_that_modality(alice, three_studies):
    client = session_client(alice)

    assert uids(client.get("/dicomweb/studies?ModalitiesInStudy=MR")) == [three_studies["jane"]]
    assert len(client.get("/dicomweb/studies?ModalitiesInStudy=CT%5CMR").json()) == 3
    assert client.get("/dicomweb/studies?ModalitiesInStudy=MR").json()[0]["00080061"]["Value"] == ["CT", "MR"]


def test_limit_and_offset_page_through_the_newest_studies_first(alice, three_studies):
    client = session_client(alice)

    assert uids(client.get("/dicomweb/studies?limit=2")) == [three_studies["anna"], three_studies["jane"]]
    assert uids(client.get("/dicomweb/studies?limit=2&offset=2")) == [three_studies["john"]]
    assert uids(client.get("/dicomweb/studies?offset=3")) == []


def test_more_results_than_the_server_gives_at_once_come_with_a_299_warning(alice, three_studies, settings):
    settings.DICOMWEB_QIDO_MAX_RESULTS = 2
    client = session_client(alice)

    answer = client.get("/dicomweb/studies")
    assert len(answer.json()) == 2
    assert answer["Warning"].startswith("299 ")
    assert "Additional results can be requested" in answer["Warning"]
    assert "Warning" not in client.get("/dicomweb/studies?offset=2")


def test_includefield_adds_attributes_from_the_stored_json_and_all_adds_the_study_modules(alice, make):
    study = generate_uid()
    ingest_as(alice, make(study=study, PatientAge="042Y", InstitutionName="General Hospital", SliceThickness="1.5"))
    client = session_client(alice)

    (found,) = client.get("/dicomweb/studies?includefield=PatientAge").json()
    assert found["00101010"] == {"vr": "AS", "Value": ["042Y"]}
    (found,) = client.get("/dicomweb/studies?includefield=all").json()
    assert found["00101010"]["Value"] == ["042Y"]
    assert "00080080" not in found  # InstitutionName belongs to the series level (General Equipment)
    (series,) = client.get(f"/dicomweb/studies/{study}/series?includefield=all").json()
    assert series["00080080"]["Value"] == ["General Hospital"]
    (instance,) = client.get("/dicomweb/instances?includefield=00180050").json()
    assert instance["00180050"]["Value"] == [1.5]
    # An attribute nobody stored comes back empty rather than missing.
    (found,) = client.get("/dicomweb/studies?includefield=PatientWeight").json()
    assert found["00101030"] == {"vr": "DS"}


def test_series_and_instances_are_searched_within_a_study_or_across_all_of_them(alice, three_studies):
    client = session_client(alice)
    jane = three_studies["jane"]

    series = client.get(f"/dicomweb/studies/{jane}/series").json()
    assert [s["00080060"]["Value"][0] for s in series] == ["CT", "MR"]
    assert all(s[STUDY_UID]["Value"] == [jane] for s in series)
    assert PATIENT_NAME not in series[0]  # the path fixed the study: no study attributes (PS3.18 10.6.3.3.2)

    (mr,) = client.get("/dicomweb/series?Modality=MR").json()
    assert mr[PATIENT_NAME]["Value"] == [{"Alphabetic": "Doe^Jane"}]  # across studies: study attributes too

    mr_uid = mr[SERIES_UID]["Value"][0]
    (instance,) = client.get(f"/dicomweb/studies/{jane}/series/{mr_uid}/instances").json()
    assert instance["00280010"]["Value"] == [8]  # Rows
    assert instance["00280100"]["Value"] == [16]  # BitsAllocated, from the stored JSON
    sop = instance[SOP_UID]["Value"][0]
    assert uids(client.get(f"/dicomweb/instances?SOPInstanceUID={sop}"), SOP_UID) == [sop]
    assert len(client.get(f"/dicomweb/studies/{jane}/instances").json()) == 2
    assert client.get(f"/dicomweb/studies/{jane}/instances?Modality=MR").json()[0][SOP_UID]["Value"] == [sop]


def test_an_empty_result_is_200_with_an_empty_array(alice, three_studies):
    answer = session_client(alice).get("/dicomweb/studies?PatientID=NOBODY")

    assert (answer.status_code, answer.json()) == (200, [])


@pytest.mark.parametrize(
    "query, words",
    [
        ("Foo=bar", "unknown query parameter 'Foo'"),
        ("limit=-1", "limit must be a non-negative integer"),
        ("StudyDate=2020", "not a date"),
        ("StudyTime=25", "not a valid time"),
        ("fuzzymatching=maybe", "fuzzymatching must be true or false"),
        ("SliceThickness=1", "SliceThickness cannot be matched at the study level"),
        ("StudyInstanceUID=1.2.*", "wild cards cannot be used with UIDs"),
        ("includefield=NotAKeyword", "unknown includefield 'NotAKeyword'"),
        ("SeriesNumber=two", "SeriesNumber cannot be matched at the study level"),
    ],
)
def test_a_query_it_cannot_answer_is_a_400_that_says_why(alice, query, words):
    answer = session_client(alice).get(f"/dicomweb/studies?{query}")

    assert answer.status_code == 400
    assert words in answer.json()["detail"]


def test_a_series_number_must_be_an_integer(alice):
    answer = session_client(alice).get("/dicomweb/series?SeriesNumber=two")

    assert (answer.status_code, answer.json()["detail"]) == (400, "'two' is not an integer (IS)")


def test_only_dicom_json_is_offered_anything_else_is_406(alice):
    client = session_client(alice)

    assert client.get("/dicomweb/studies", HTTP_ACCEPT="application/dicom+xml").status_code == 406
    assert client.get("/dicomweb/studies", HTTP_ACCEPT="application/json").status_code == 200
    assert client.get("/dicomweb/studies?accept=application/dicom%2Bxml").status_code == 406
