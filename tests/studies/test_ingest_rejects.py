"""Bad input gets a clear reason and leaves nothing behind: no row, no file, no temp file."""
import io

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from studies.dicomfile import read_header
from studies.ingest import Origin, Outcome, ingest_file
from studies.models import Instance, Patient, Series, Study
from tests.conftest import CT_ABDOMEN, archived_files

pytestmark = pytest.mark.django_db

CT_SLICE = CT_ABDOMEN / "1-01.dcm"


def small_dataset(**overrides) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientID = "EDGE-1"
    ds.PatientName = "Edge^Case"
    ds.Modality = "OT"
    for keyword, value in overrides.items():
        setattr(ds, keyword, value)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def write(ds: Dataset, path, preamble: bytes | None = None):
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    if preamble is not None:
        data = preamble.ljust(128, b"\0")[:128] + data[128:]
    path.write_bytes(data)
    return path


def assert_nothing_left(data_dir):
    assert Instance.objects.count() == 0
    assert Series.objects.count() == 0 and Study.objects.count() == 0 and Patient.objects.count() == 0
    assert archived_files(data_dir) == []


def test_it_skips_a_file_that_is_not_dicom(tmp_path, data_dir):
    path = tmp_path / "notes.txt"
    path.write_text("Referral letter: please read the CT of the abdomen.\n" * 20)
    result = ingest_file(path, origin=Origin())
    assert (result.outcome, result.code) == (Outcome.REJECTED, "not-dicom")
    assert "not a DICOM file" in result.reason
    assert_nothing_left(data_dir)


def test_it_rejects_a_truncated_dicom_file(tmp_path, data_dir):
    data = CT_SLICE.read_bytes()
    path = tmp_path / "cut.dcm"
    path.write_bytes(data[: len(data) // 2])
    result = ingest_file(path, origin=Origin())
    assert (result.outcome, result.code) == (Outcome.REJECTED, "truncated")
    assert "truncated" in result.reason
    assert_nothing_left(data_dir)


def test_it_rejects_a_file_cut_inside_its_header(tmp_path, data_dir):
    data = CT_SLICE.read_bytes()
    path = tmp_path / "cut.dcm"
    path.write_bytes(data[:900])
    result = ingest_file(path, origin=Origin())
    assert result.outcome is Outcome.REJECTED and result.code in {"truncated", "malformed", "missing-uid"}
    assert_nothing_left(data_dir)


def test_it_rejects_a_missing_sop_instance_uid(tmp_path, data_dir):
    ds = small_dataset()
    del ds.SOPInstanceUID
    result = ingest_file(write(ds, tmp_path / "x.dcm"), origin=Origin())
    assert (result.outcome, result.code) == (Outcome.REJECTED, "missing-uid")
    assert "SOPInstanceUID is missing" in result.reason
    assert_nothing_left(data_dir)


@pytest.mark.parametrize("bad_uid", ["../../x", "1.2.3/../../etc", "1.2..3", "1.2.3." + "4" * 70, "1.2.abc"])
def test_it_rejects_a_uid_that_is_not_a_uid(tmp_path, data_dir, bad_uid):
    ds = small_dataset(SeriesInstanceUID=bad_uid)
    result = ingest_file(write(ds, tmp_path / "x.dcm"), origin=Origin())
    assert (result.outcome, result.code) == (Outcome.REJECTED, "invalid-uid")
    assert "SeriesInstanceUID is not a valid UID" in result.reason
    assert_nothing_left(data_dir)


def test_it_rejects_absurdly_deep_sequence_nesting(tmp_path, data_dir):
    ds = small_dataset()
    inner = Dataset()
    inner.CodeMeaning = "bottom"
    for _ in range(60):
        outer = Dataset()
        outer.ContentSequence = Sequence([inner])
        inner = outer
    ds.ContentSequence = inner.ContentSequence
    result = ingest_file(write(ds, tmp_path / "deep.dcm"), origin=Origin())
    assert (result.outcome, result.code) == (Outcome.REJECTED, "too-deep")
    assert_nothing_left(data_dir)


def test_it_zeroes_an_executable_preamble(tmp_path, data_dir):
    # A polyglot: a Windows executable header in the preamble (CVE-2019-11687).
    ds = small_dataset()
    path = write(ds, tmp_path / "polyglot.dcm", preamble=b"MZ\x90\x00\x03\x00\x00\x00This program cannot be run in DOS mode")
    result = ingest_file(path, origin=Origin())
    assert result.outcome is Outcome.STORED
    stored = archived_files(data_dir)
    assert len(stored) == 1
    data = stored[0].read_bytes()
    assert data[:128] == bytes(128) and data[128:132] == b"DICM"
    assert data[132:] == path.read_bytes()[132:]  # the rest is byte for byte what arrived


def test_it_gives_a_file_without_preamble_or_file_meta_a_proper_header(tmp_path, data_dir):
    ds = small_dataset()
    buffer = pydicom.filebase.DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, True
    pydicom.filewriter.write_dataset(buffer, ds)  # a bare dataset, ACR-NEMA style (Implicit VR LE)
    path = tmp_path / "bare.dcm"
    path.write_bytes(buffer.getvalue())
    result = ingest_file(path, origin=Origin())
    assert result.outcome is Outcome.STORED, result.reason
    stored = pydicom.dcmread(archived_files(data_dir)[0])
    assert stored.preamble == bytes(128)
    assert stored.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert stored.SOPInstanceUID == ds.SOPInstanceUID


def test_the_same_file_twice_is_already_stored_and_writes_nothing(data_dir):
    first = ingest_file(CT_SLICE, origin=Origin())
    second = ingest_file(CT_SLICE, origin=Origin())
    assert first.outcome is Outcome.STORED
    assert second.outcome is Outcome.ALREADY_STORED and second.ok
    assert second.instance_id == first.instance_id
    assert Instance.objects.count() == 1 and len(archived_files(data_dir)) == 1
    assert Series.objects.get().number_of_series_related_instances == 1


def test_the_same_uid_with_different_bytes_keeps_the_first(tmp_path, data_dir):
    ds = small_dataset(PatientName="First^Version")
    first_path = write(ds, tmp_path / "first.dcm")
    ds.PatientName = "Second^Version"
    second_path = write(ds, tmp_path / "second.dcm")
    assert ingest_file(first_path, origin=Origin()).outcome is Outcome.STORED
    stored_before = archived_files(data_dir)[0].read_bytes()

    result = ingest_file(second_path, origin=Origin())

    assert (result.outcome, result.code) == (Outcome.REJECTED, "conflict")
    assert "different content" in result.reason and "first copy is kept" in result.reason
    assert [p.read_bytes() for p in archived_files(data_dir)] == [stored_before]
    assert Instance.objects.get().dicom_json["00100010"]["Value"] == [{"Alphabetic": "First^Version"}]


@pytest.mark.parametrize("policy", ["keep-first", "overwrite"])
def test_the_same_dataset_from_another_sender_is_already_stored_whatever_the_policy(tmp_path, data_dir, settings, policy):
    # Another toolkit writes its own File Meta and gives the sequence an explicit length: same instance.
    settings.LUMEN_DUPLICATE_POLICY = policy
    ds = small_dataset()
    item = Dataset()
    item.CodeValue = "T-D0050"
    ds.AnatomicRegionSequence = Sequence([item])
    ds["AnatomicRegionSequence"].is_undefined_length = True
    ds.file_meta.ImplementationClassUID = "1.2.826.0.1.3680043.9.1"
    first_path = write(ds, tmp_path / "from-the-cd.dcm")
    ds["AnatomicRegionSequence"].is_undefined_length = False
    ds.file_meta.ImplementationClassUID = "1.2.826.0.1.3680043.9.2"
    ds.file_meta.SourceApplicationEntityTitle = "CT_SCANNER"
    second_path = write(ds, tmp_path / "from-the-modality.dcm")
    datasets = [path.read_bytes()[read_header(path).dataset_offset :] for path in (first_path, second_path)]
    assert datasets[0] != datasets[1]  # not even the dataset bytes are the same
    first = ingest_file(first_path, origin=Origin())
    stored_before = archived_files(data_dir)[0].read_bytes()

    second = ingest_file(second_path, origin=Origin(calling_ae_title="CT_SCANNER"))

    assert (second.outcome, second.instance_id) == (Outcome.ALREADY_STORED, first.instance_id)
    assert [p.read_bytes() for p in archived_files(data_dir)] == [stored_before]
    assert Instance.objects.get().calling_ae_title == ""  # the first row, untouched


def test_the_overwrite_policy_replaces_the_file_and_removes_the_old_one(tmp_path, data_dir, settings, django_capture_on_commit_callbacks):
    settings.LUMEN_DUPLICATE_POLICY = "overwrite"
    ds = small_dataset(PatientName="First^Version")
    first_path = write(ds, tmp_path / "first.dcm")
    ds.PatientName = "Second^Version"
    second_path = write(ds, tmp_path / "second.dcm")
    ingest_file(first_path, origin=Origin())
    with django_capture_on_commit_callbacks(execute=True):
        result = ingest_file(second_path, origin=Origin())
    assert result.outcome is Outcome.STORED
    files = archived_files(data_dir)
    assert len(files) == 1 and b"Second^Version" in files[0].read_bytes()
    assert Instance.objects.get().dicom_json["00100010"]["Value"] == [{"Alphabetic": "Second^Version"}]


def test_source_files_are_left_untouched(tmp_path):
    path = tmp_path / "ct.dcm"
    path.write_bytes(CT_SLICE.read_bytes())
    ingest_file(path, origin=Origin())
    assert path.read_bytes() == CT_SLICE.read_bytes()


def test_a_failed_index_write_leaves_no_file(tmp_path, data_dir, monkeypatch):
    # The database refuses the row (here: a simulated failure inside the transaction);
    # the file that was already written must be removed again.
    import studies.ingest as ingest

    def broken_index(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(ingest, "_index", broken_index)
    with pytest.raises(RuntimeError):
        ingest_file(CT_SLICE, origin=Origin())
    assert archived_files(data_dir) == []


def test_the_stored_json_leaves_out_bulk_data():
    result = ingest_file(CT_SLICE, origin=Origin())
    as_json = Instance.objects.get(pk=result.instance_id).dicom_json
    assert "7FE00010" not in as_json
    assert as_json["00080060"] == {"vr": "CS", "Value": ["CT"]}
    assert not any("BulkDataURI" in element for element in as_json.values())


def test_an_upload_cannot_open_someone_elses_study(tmp_path, data_dir, alice, charlie):
    # Charlie guesses the StudyInstanceUID of Alice's study and uploads a file claiming it.
    from studies.selectors import visible_studies

    alices = small_dataset()
    assert ingest_file(write(alices, tmp_path / "alice.dcm"), origin=Origin(user_id=alice.id)).outcome is Outcome.STORED
    intruder = small_dataset(StudyInstanceUID=alices.StudyInstanceUID)

    result = ingest_file(write(intruder, tmp_path / "charlie.dcm"), origin=Origin(user_id=charlie.id))

    assert (result.outcome, result.code) == (Outcome.REJECTED, "not-authorized")
    assert not visible_studies(charlie).exists()
    assert Instance.objects.count() == 1 and len(archived_files(data_dir)) == 1
    # A DICOM node (no user) may still add to any study, and Alice to her own.
    assert ingest_file(write(small_dataset(StudyInstanceUID=alices.StudyInstanceUID), tmp_path / "node.dcm"), origin=Origin()).ok
    assert ingest_file(write(small_dataset(StudyInstanceUID=alices.StudyInstanceUID), tmp_path / "a2.dcm"), origin=Origin(user_id=alice.id)).ok
