"""The study search selector: every criterion, DICOM wildcards, newest-first order, visibility, paging."""
from datetime import date
from itertools import count

import pytest

from studies.ingest import Origin, Outcome, ingest_file
from studies.models import Patient, Study
from studies.search import StudyCriteria, page_of, search_studies
from tests.conftest import write_dicom

pytestmark = pytest.mark.django_db

_numbers = count(1)


def store(user, folder, **elements) -> str:
    """Ingest one small image as ``user``'s upload; returns its accession number (one per study)."""
    accession = elements.setdefault("AccessionNumber", f"ACC{next(_numbers):04d}")
    path = write_dicom(folder / f"{accession}.dcm", **elements)
    assert ingest_file(path, origin=Origin(user_id=user.id)).outcome is Outcome.STORED
    return accession


def found(user, **criteria) -> list[str]:
    return [s.accession_number for s in search_studies(user=user, criteria=StudyCriteria(**criteria))]


@pytest.fixture
def archive(alice, tmp_path):
    """Alice's uploads: five patients with distinct names, ids, dates and modalities."""
    return {
        "doe": store(alice, tmp_path, PatientName="Doe^John", PatientID="ID-100", PatientBirthDate="19700101",
                     StudyDate="20240301", Modality="CT", StudyDescription="CT ABDOMEN WITH CONTRAST"),
        "doerr": store(alice, tmp_path, PatientName="DOERR^ANNA", PatientID="ID-101", PatientBirthDate="19800202",
                       StudyDate="20240215", Modality="MR", StudyDescription="MR Knee left"),
        "mcdoe": store(alice, tmp_path, PatientName="MCDOE^JOHNNY", PatientID="ID_102", PatientBirthDate="19900303",
                       StudyDate="20231231", Modality="PT", StudyDescription="PET whole body"),
        "smith": store(alice, tmp_path, PatientName="Smith^Jane^M", PatientID="X-200", PatientBirthDate="19700101",
                       StudyDate="20240110", Modality="SEG", StudyDescription="segmentation"),
        "nodate": store(alice, tmp_path, PatientName="NODATE^PAT", PatientID="X-201", StudyDate="", Modality="CR"),
    }


def test_with_no_criteria_a_radiologist_gets_every_study_newest_first_and_undated_ones_last(admin_user, archive):
    assert found(admin_user) == [archive[k] for k in ("doe", "doerr", "smith", "mcdoe", "nodate")]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("DOE*", {"doe", "doerr"}),  # "DOE^JOHN" and "DOERR^ANNA", not "MCDOE^JOHNNY"
        ("doe*", {"doe", "doerr"}),  # names match whatever the case
        ("DOE", {"doe", "doerr"}),  # no wildcard: the name starts with the text
        ("DOE^*", {"doe"}),  # the ^ separator is part of the pattern
        ("DOE^JOHN", {"doe"}),
        ("*JOHN*", {"doe", "mcdoe"}),
        ("*doe*", {"doe", "doerr", "mcdoe"}),
        ("D?E*", {"doe", "doerr"}),
        ("D?E^J*", {"doe"}),
        ("*^JANE*", {"smith"}),
        ("SMITH^JANE^M", {"smith"}),
        ("NOBODY*", set()),
    ],
)
def test_a_patient_name_matches_with_dicom_wildcards(alice, archive, name, expected):
    assert set(found(alice, patient_name=name)) == {archive[k] for k in expected}


def test_a_name_matching_very_many_patients_finds_the_same_studies(alice, archive, monkeypatch):
    few = set(found(alice, patient_name="*DOE*"))
    monkeypatch.setattr("studies.search.PATIENT_LOOKUP_MAX", 1)  # three patients match: the join is used
    assert set(found(alice, patient_name="*DOE*")) == few == {archive[k] for k in ("doe", "doerr", "mcdoe")}
    assert found(alice, patient_name="*DOE*", patient_birth_date=date(1980, 2, 2)) == [archive["doerr"]]


def test_a_name_with_sql_wildcards_matches_them_literally(alice, archive, tmp_path):
    percent = store(alice, tmp_path, PatientName="100%_REAL^X", PatientID="ID-900")
    assert found(alice, patient_name="100%_*") == [percent]
    assert found(alice, patient_name="1%*") == []
    assert found(alice, patient_name="*_R*") == [percent]


@pytest.mark.parametrize(
    ("patient_id", "expected"),
    [
        ("ID-100", {"doe"}),  # exact: single value matching
        ("ID-10", set()),  # no wildcard, no prefix match for identifiers
        ("ID-*", {"doe", "doerr"}),
        ("ID?10*", {"doe", "doerr", "mcdoe"}),
        ("ID_*", {"mcdoe"}),  # "_" is a plain character, not an SQL wildcard
        ("id-100", set()),  # a PatientID is case-sensitive (LO, PS3.5 6.2)
    ],
)
def test_a_patient_id_matches_exactly_or_with_wildcards(alice, archive, patient_id, expected):
    assert set(found(alice, patient_id=patient_id)) == {archive[k] for k in expected}


def test_a_birth_date_matches_that_day(alice, archive):
    assert set(found(alice, patient_birth_date=date(1970, 1, 1))) == {archive["doe"], archive["smith"]}


def test_a_study_date_range_includes_both_ends(alice, archive):
    assert found(alice, study_date_from=date(2024, 1, 10), study_date_to=date(2024, 2, 15)) == [archive["doerr"], archive["smith"]]
    assert found(alice, study_date_from=date(2024, 2, 16)) == [archive["doe"]]
    assert found(alice, study_date_to=date(2023, 12, 31)) == [archive["mcdoe"]]


def test_a_modality_matches_one_whole_element_of_modalities_in_study(alice, archive, tmp_path):
    study_uid = "1.2.826.0.1.3680043.8.498.777"
    mixed = store(alice, tmp_path, StudyInstanceUID=study_uid, Modality="PT", StudyDate="20200101")
    write_dicom(tmp_path / "ct-of-mixed.dcm", StudyInstanceUID=study_uid, Modality="CT", AccessionNumber=mixed)
    assert ingest_file(tmp_path / "ct-of-mixed.dcm", origin=Origin(user_id=alice.id)).ok
    assert Study.objects.get(study_instance_uid=study_uid).modalities_in_study == "CT\\PT"

    assert set(found(alice, modalities=("CT",))) == {archive["doe"], mixed}
    assert set(found(alice, modalities=("PT",))) == {archive["mcdoe"], mixed}
    assert found(alice, modalities=("SE",)) == []  # no partial token: "SE" is not "SEG"
    assert found(alice, modalities=("T",)) == []
    assert set(found(alice, modalities=("MR", "SEG"))) == {archive["doerr"], archive["smith"]}


def test_an_accession_number_matches_exactly_or_with_wildcards(alice, archive):
    assert found(alice, accession_number=archive["doe"]) == [archive["doe"]]
    assert set(found(alice, accession_number="ACC*")) == set(archive.values())


def test_a_description_matches_any_part_of_it_whatever_the_case(alice, archive):
    assert found(alice, study_description="abdomen") == [archive["doe"]]
    assert found(alice, study_description="KNEE L") == [archive["doerr"]]
    assert found(alice, study_description="%") == []


def test_criteria_combine_with_and(alice, archive):
    assert found(alice, patient_name="DOE*", modalities=("MR",)) == [archive["doerr"]]
    assert found(alice, patient_name="DOE*", study_date_to=date(2024, 1, 1)) == []


def test_charlie_the_outsider_finds_none_of_alices_studies(charlie, archive):
    assert found(charlie) == []
    assert found(charlie, patient_name="*") == []
    assert found(charlie, accession_number=archive["doe"]) == []


def test_a_referrer_searched_by_her_access_rows_finds_what_the_visibility_rule_finds(alice, charlie, archive, tmp_path, monkeypatch):
    charlies = store(charlie, tmp_path, PatientName="DOE^CHARLIE", Modality="CT")
    searches = [{}, {"patient_name": "DOE*"}, {"modalities": ("CT",)}, {"study_date_from": date(2024, 1, 1)}]
    by_keys = [found(alice, **criteria) for criteria in searches]
    monkeypatch.setattr("studies.search.GRANTED_LOOKUP_MAX", 1)  # five access rows: too many, the plain rule alone
    assert [found(alice, **criteria) for criteria in searches] == by_keys
    assert by_keys[0] == [archive[k] for k in ("doe", "doerr", "smith", "mcdoe", "nodate")]
    assert charlies not in by_keys[1] + by_keys[2]


def test_alice_finds_only_her_own_uploads(alice, charlie, archive, tmp_path):
    charlies = store(charlie, tmp_path, PatientName="DOE^CHARLIE")
    assert charlies not in found(alice, patient_name="DOE*")
    assert found(charlie, patient_name="DOE*") == [charlies]


# --- Paging --------------------------------------------------------------------------------


def many_studies(total: int) -> None:
    patient = Patient.objects.create(patient_key="k", patient_id="P", patient_name="MANY^STUDIES")
    Study.objects.bulk_create(
        Study(study_instance_uid=f"1.2.3.{i}", patient=patient, study_date=date(2000, 1, 1).replace(year=2000 + i % 20),
              accession_number=f"M{i:04d}")
        for i in range(total)
    )


def test_pages_hold_fifty_studies_and_together_list_each_study_once(admin_user):
    many_studies(120)
    studies = search_studies(user=admin_user, criteria=StudyCriteria())
    pages = [page_of(studies, n) for n in (1, 2, 3)]

    assert [len(p.items) for p in pages] == [50, 50, 20]
    assert all(p.total == 120 and p.total_is_exact and p.num_pages == 3 for p in pages)
    assert len({s.pk for p in pages for s in p.items}) == 120
    listed = [s for p in pages for s in p.items]
    assert listed == sorted(listed, key=lambda s: (s.study_date, s.pk), reverse=True)
    assert (pages[2].start_index, pages[2].end_index, pages[2].has_next, pages[2].has_previous) == (101, 120, False, True)


def test_a_page_that_is_not_full_is_the_last_and_needs_no_count(admin_user, django_assert_num_queries):
    many_studies(120)
    studies = search_studies(user=admin_user, criteria=StudyCriteria())
    with django_assert_num_queries(1):  # the page's rows, patients joined
        last = page_of(studies, 3)
    assert (last.total, last.total_is_exact, last.num_pages, len(last.items)) == (120, True, 3, 20)
    assert last.items[0].patient.patient_name == "MANY^STUDIES"
    with django_assert_num_queries(2):  # a full page: its rows, and the count a few pages ahead
        first = page_of(studies, 1)
    assert (first.total, first.total_is_exact, len(first.items)) == (120, True, 50)


def test_a_page_past_the_end_shows_the_last_page(admin_user):
    many_studies(120)
    page = page_of(search_studies(user=admin_user, criteria=StudyCriteria()), 99)
    assert page.number == 3 and len(page.items) == 20


def test_a_broad_search_counts_only_a_few_pages_ahead(admin_user):
    many_studies(120)
    studies = search_studies(user=admin_user, criteria=StudyCriteria())
    first = page_of(studies, 1, per_page=10, pages_ahead=3)
    assert (first.total, first.total_is_exact, first.num_pages, first.has_next) == (40, False, 4, True)
    assert first.page_range() == [1, 2, 3, 4]
    # Further on the count moves along with the page and reaches the end: every study stays reachable.
    later = page_of(studies, 11, per_page=10, pages_ahead=3)
    assert (later.number, later.num_pages, later.total_is_exact, len(later.items)) == (11, 12, True, 10)
    assert later.page_range(around=2) == [1, None, 9, 10, 11, 12]


def test_an_empty_result_is_one_empty_page(charlie):
    page = page_of(search_studies(user=charlie, criteria=StudyCriteria()), 3)
    assert (page.number, page.items, page.total, page.num_pages, page.has_next) == (1, [], 0, 1, False)
