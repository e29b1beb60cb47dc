"""C-FIND, C-MOVE and C-GET against a running `manage.py dicomserver`, with DCMTK's findscu,
movescu, getscu and storescp as the real peers (and pynetdicom for C-CANCEL)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread

from studies.ingest import Origin, ingest_file
from studies.models import Instance, RemoteNode
from studies.storage import dicom_storage
from tests.conftest import CT_ABDOMEN, CT_HEAD, free_port, require_tool, sample
from tests.studies import test_dicomserver
from tests.studies.test_dicomserver import AE_TITLE, dataset_sha256, series_files

pytestmark = [pytest.mark.dcmtk, pytest.mark.django_db(transaction=True)]

start_listener = test_dicomserver.start_listener  # the fixture that starts `manage.py dicomserver`

J2K = "compressed/extra/MR2_J2KR.dcm"  # JPEG 2000 lossless, MR


def archive(files) -> None:
    for path in files:
        assert ingest_file(Path(path), origin=Origin(calling_ae_title="TEST")).sop_instance_uid


def findscu(listener, *keys: str, model: str = "-S", calling_ae: str = "WORKSTATION") -> subprocess.CompletedProcess:
    args = [require_tool("findscu"), "-v", model, "-aet", calling_ae, "-aec", AE_TITLE]
    for key in keys:
        args += ["-k", key]
    return subprocess.run([*args, "127.0.0.1", str(listener.port)], capture_output=True, text=True, timeout=120)


def answers(result: subprocess.CompletedProcess, keyword: str) -> list[str]:
    """The values of ``keyword`` in findscu's printed responses."""
    found = re.findall(rf"\) \w\w \[([^\]]*)\].*# +\d+, \d+ {keyword}\b", result.stdout + result.stderr)
    return [value.strip(" \x00") for value in found]


@pytest.fixture
def two_studies():
    head, abdomen = series_files(CT_HEAD), series_files(CT_ABDOMEN)
    archive(head[:3] + abdomen[:2])
    return dcmread(head[0], stop_before_pixels=True), dcmread(abdomen[0], stop_before_pixels=True)


def test_a_workstation_finds_studies_with_a_wildcard_and_a_date_range(start_listener, two_studies):
    head, abdomen = two_studies
    listener = start_listener()

    everything = findscu(listener, "QueryRetrieveLevel=STUDY", "StudyInstanceUID", "NumberOfStudyRelatedInstances", "ModalitiesInStudy")
    assert everything.returncode == 0, everything.stderr
    assert sorted(answers(everything, "StudyInstanceUID")) == sorted([head.StudyInstanceUID, abdomen.StudyInstanceUID])
    assert sorted(answers(everything, "NumberOfStudyRelatedInstances")) == ["2", "3"]
    assert answers(everything, "ModalitiesInStudy") == ["CT", "CT"]

    pattern = str(abdomen.PatientID)[:4] + "*"
    wildcard = findscu(listener, "QueryRetrieveLevel=STUDY", f"PatientID={pattern}", "StudyInstanceUID")
    assert answers(wildcard, "StudyInstanceUID") == [abdomen.StudyInstanceUID], wildcard.stdout + wildcard.stderr

    day = str(abdomen.StudyDate)
    in_range = findscu(listener, "QueryRetrieveLevel=STUDY", f"StudyDate={day}-{day}", "StudyInstanceUID")
    assert answers(in_range, "StudyInstanceUID") == [s.StudyInstanceUID for s in (head, abdomen) if str(s.StudyDate) == day]
    assert findscu(listener, "QueryRetrieveLevel=STUDY", "StudyDate=-19000101", "StudyInstanceUID").stdout.count("StudyInstanceUID") == 0


def test_a_workstation_walks_patient_root_from_patient_to_image(start_listener, two_studies):
    head, _ = two_studies
    listener = start_listener()

    patients = findscu(listener, "QueryRetrieveLevel=PATIENT", f"PatientID={head.PatientID}", "NumberOfPatientRelatedStudies", "PatientName", model="-P")
    assert answers(patients, "NumberOfPatientRelatedStudies") == ["1"], patients.stdout + patients.stderr
    series = findscu(
        listener, "QueryRetrieveLevel=SERIES", f"StudyInstanceUID={head.StudyInstanceUID}", "SeriesInstanceUID", "NumberOfSeriesRelatedInstances", "Modality", model="-P"
    )
    assert answers(series, "SeriesInstanceUID") == [head.SeriesInstanceUID]
    assert answers(series, "NumberOfSeriesRelatedInstances") == ["3"]
    images = findscu(listener, "QueryRetrieveLevel=IMAGE", f"SeriesInstanceUID={head.SeriesInstanceUID}", "SOPInstanceUID", "InstanceNumber", "SliceThickness", model="-P")
    assert sorted(answers(images, "SOPInstanceUID")) == sorted(Instance.objects.filter(series__series_instance_uid=head.SeriesInstanceUID).values_list("sop_instance_uid", flat=True))
    assert len(answers(images, "SliceThickness")) == 3  # not indexed: answered from the stored header
    wrong_level = findscu(listener, "QueryRetrieveLevel=PATIENT", "PatientID", model="-S")
    assert "Error: DataSetDoesNotMatchSOPClass" in wrong_level.stderr  # DCMTK's name for 0xA900


def test_a_node_without_query_rights_is_refused_and_the_refusal_is_logged(start_listener, two_studies):
    RemoteNode.objects.create(ae_title="NOSY", host="127.0.0.1", port=104, may_query=False)
    listener = start_listener()

    result = findscu(listener, "QueryRetrieveLevel=STUDY", "StudyInstanceUID", calling_ae="NOSY")

    assert answers(result, "StudyInstanceUID") == [], listener.log + result.stdout + result.stderr
    assert "Unknown Status: 0x124" in result.stderr  # DCMTK has no name for PS3.7's Refused: Not Authorized
    assert 'C-FIND from AE "NOSY" at 127.0.0.1' in listener.log_when('C-FIND from AE "NOSY" at 127.0.0.1') and "refused" in listener.log_when("refused")


@pytest.fixture
def storescp(tmp_path):
    """A DCMTK Storage SCP registered as a move destination; ``uncompressed_only`` forces decompression."""
    started = []

    def start(ae_title: str = "VIEWER", *, uncompressed_only: bool = False):
        folder = tmp_path / ae_title
        folder.mkdir()
        port = free_port()
        syntaxes = [] if uncompressed_only else ["+xa"]
        process = subprocess.Popen(
            [require_tool("storescp"), "-aet", ae_title, "+B", *syntaxes, "-od", str(folder), str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        RemoteNode.objects.create(ae_title=ae_title, host="127.0.0.1", port=port, is_move_destination=True)
        return folder

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def received(folder: Path) -> dict[str, Path]:
    return {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID): p for p in folder.iterdir() if p.is_file()}


def movescu(listener, destination: str, *keys: str) -> subprocess.CompletedProcess:
    args = [require_tool("movescu"), "-v", "-S", "-aet", "WORKSTATION", "-aec", AE_TITLE, "-aem", destination]
    for key in keys:
        args += ["-k", key]
    return subprocess.run([*args, "127.0.0.1", str(listener.port)], capture_output=True, text=True, timeout=300)


def test_a_study_moved_to_a_registered_viewer_arrives_unchanged_or_decompressed(start_listener, storescp):
    files = series_files(CT_ABDOMEN)[:4] + [sample(J2K)]
    archive(files)
    viewer = storescp("VIEWER", uncompressed_only=True)
    listener = start_listener()
    studies = Instance.objects.values_list("series__study__study_instance_uid", flat=True).distinct()

    for study_uid in studies:
        result = movescu(listener, "VIEWER", "QueryRetrieveLevel=STUDY", f"StudyInstanceUID={study_uid}")
        assert result.returncode == 0, result.stdout + result.stderr

    got = received(viewer)
    assert len(got) == len(files), listener.log
    for path in files[:4]:  # stored Explicit VR Little Endian: sent as stored
        uid = str(dcmread(path, stop_before_pixels=True).SOPInstanceUID)
        assert dataset_sha256(got[uid]) == dataset_sha256(path)
    original = dcmread(files[-1])
    assert str(original.SOPInstanceUID) in got, (list(got), listener.log)
    copy = dcmread(got[str(original.SOPInstanceUID)])
    assert not copy.file_meta.TransferSyntaxUID.is_compressed  # the viewer accepts uncompressed only
    assert np.array_equal(copy.pixel_array, original.pixel_array)


def test_a_compressed_instance_goes_as_stored_when_the_viewer_accepts_its_syntax(start_listener, storescp):
    archive([sample(J2K)])
    viewer = storescp("J2KVIEWER")
    listener = start_listener()
    instance = Instance.objects.get()

    result = movescu(listener, "J2KVIEWER", "QueryRetrieveLevel=IMAGE", f"StudyInstanceUID={instance.series.study.study_instance_uid}",
                     f"SeriesInstanceUID={instance.series.series_instance_uid}", f"SOPInstanceUID={instance.sop_instance_uid}")

    assert result.returncode == 0, result.stdout + result.stderr
    [copy] = received(viewer).values()
    assert dataset_sha256(copy) == dataset_sha256(Path(dicom_storage().path(instance.storage_key)))


def test_a_move_to_an_unknown_destination_answers_a801_without_connecting(start_listener, two_studies):
    head, _ = two_studies
    listener = start_listener()

    result = movescu(listener, "STRANGER", "QueryRetrieveLevel=STUDY", f"StudyInstanceUID={head.StudyInstanceUID}")

    assert "Refused: MoveDestinationUnknown" in result.stdout + result.stderr  # DCMTK's name for 0xA801
    assert "'STRANGER' is not a registered move destination" in listener.log_when("'STRANGER' is not a registered move destination")


def test_a_workstation_gets_a_series_over_its_own_association(start_listener, two_studies, tmp_path):
    head, _ = two_studies
    listener = start_listener()
    folder = tmp_path / "got"
    folder.mkdir()

    result = subprocess.run(
        [require_tool("getscu"), "-v", "-S", "+B", "-aet", "WORKSTATION", "-aec", AE_TITLE, "-od", str(folder),
         "-k", "QueryRetrieveLevel=SERIES", "-k", f"StudyInstanceUID={head.StudyInstanceUID}", "-k", f"SeriesInstanceUID={head.SeriesInstanceUID}",
         "127.0.0.1", str(listener.port)],
        capture_output=True, text=True, timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    stored = {i.sop_instance_uid: Path(dicom_storage().path(i.storage_key)) for i in Instance.objects.filter(series__series_instance_uid=head.SeriesInstanceUID)}
    got = received(folder)
    assert set(got) == set(stored)
    for uid, path in got.items():
        # getscu offers Implicit VR Little Endian only for what it receives: the stored Explicit VR
        # dataset is re-encoded (pynetdicom converts between uncompressed syntaxes), values unchanged.
        copy, original = dcmread(path), dcmread(stored[uid])
        assert copy.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2"
        assert copy.PixelData == original.PixelData
        assert copy.PatientName == original.PatientName and copy.InstanceNumber == original.InstanceNumber
