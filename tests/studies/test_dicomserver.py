"""The DICOM listener over loopback with real peers: DCMTK's echoscu/storescu, and pynetdicom as a raw SCU.

Each test starts `manage.py dicomserver` as its own process on a free port, sharing the
test database and archive; rows are committed (transaction=True) so both sides see them.
"""
from __future__ import annotations

import csv
import hashlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE, _config
from pynetdicom.sop_class import CTImageStorage

from studies.dicomfile import read_header
from studies.ingest import Origin, Outcome, ingest_file
from studies.models import Instance, Patient, Series, Study
from studies.storage import dicom_storage
from tests.conftest import CT_ABDOMEN, CT_HEAD, PYTHON, REPO, SAMPLES, archived_files, free_port, require_tool

pytestmark = [pytest.mark.dcmtk, pytest.mark.django_db(transaction=True)]

AE_TITLE = "LUMEN"


@dataclass
class Listener:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def log_when(self, *texts: str, timeout: float = 15) -> str:
        """The log once every text is in it: the listener may log after the peer has its answer."""
        deadline = time.monotonic() + timeout
        while not all(text in self.log for text in texts) and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.log

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture
def start_listener(subprocess_env, tmp_path):
    """Start `manage.py dicomserver` with extra environment; every one started is stopped at teardown."""
    started: list[Listener] = []

    def start(*args: str, **env: str) -> Listener:
        port = free_port()
        log_path = tmp_path / f"listener-{port}.log"
        process = subprocess.Popen(
            [PYTHON, "manage.py", "dicomserver", "--port", str(port), *args],
            cwd=REPO,
            env={**subprocess_env, "LOG_LEVEL": "INFO", **env},
            stdout=log_path.open("w"),
            stderr=subprocess.STDOUT,
        )
        listener = Listener(process, port, log_path)
        started.append(listener)
        _wait_until_listening(listener)
        return listener

    yield start
    for listener in started:
        listener.stop()


def _wait_until_listening(listener: Listener, timeout: float = 60) -> None:
    # The "DICOM listener ... on" line is logged once the socket is bound and listening.
    deadline = time.monotonic() + timeout
    expected = 1
    if "--processes" in listener.process.args:
        expected = int(listener.process.args[listener.process.args.index("--processes") + 1])
    while time.monotonic() < deadline:
        if listener.process.poll() is not None:
            pytest.fail(f"the listener exited ({listener.process.returncode}):\n{listener.log}")
        if listener.log.count(f"DICOM listener {AE_TITLE} on") >= expected:
            return
        time.sleep(0.1)
    pytest.fail(f"the listener did not start listening:\n{listener.log}")


def storescu(listener: Listener, files: list[Path], calling_ae: str = "MODALITY") -> subprocess.CompletedProcess:
    return subprocess.run(
        [require_tool("storescu"), "-aet", calling_ae, "-aec", AE_TITLE, "127.0.0.1", str(listener.port), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def echoscu(listener: Listener, calling_ae: str = "MODALITY") -> subprocess.CompletedProcess:
    return subprocess.run(
        [require_tool("echoscu"), "-aet", calling_ae, "-aec", AE_TITLE, "127.0.0.1", str(listener.port)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def series_files(folder: Path) -> list[Path]:
    if not folder.exists():
        pytest.skip(f"sample series {folder.name} is not available")
    return sorted(p for p in folder.iterdir() if p.is_file())


def dataset_sha256(path: Path) -> str:
    """SHA-256 of the dataset bytes after preamble and File Meta: what travels in a C-STORE."""
    return hashlib.sha256(path.read_bytes()[read_header(path).dataset_offset :]).hexdigest()


def test_a_modality_can_verify_the_connection_with_c_echo(start_listener):
    listener = start_listener()
    result = echoscu(listener)
    assert result.returncode == 0, result.stderr


def test_a_modality_stores_a_whole_series_byte_for_byte_with_its_origin(start_listener, data_dir):
    listener = start_listener()
    files = series_files(CT_HEAD)

    result = storescu(listener, files, calling_ae="CT_SCANNER")

    assert result.returncode == 0, result.stderr
    sent = {str(read_header(p).dataset.SOPInstanceUID): dataset_sha256(p) for p in files}
    instances = list(Instance.objects.all())
    assert {i.sop_instance_uid for i in instances} == set(sent)
    storage = dicom_storage()
    for instance in instances:
        stored = Path(storage.path(instance.storage_key))
        assert (instance.calling_ae_title, instance.peer_address) == ("CT_SCANNER", "127.0.0.1")
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == instance.sha256
        assert stored.read_bytes()[:132] == bytes(128) + b"DICM"
        assert dataset_sha256(stored) == sent[instance.sop_instance_uid]  # the dataset as received, never re-encoded
    series = Series.objects.get()
    assert series.number_of_series_related_instances == len(files)
    assert list((data_dir / "spool" / "dicom").iterdir()) == []  # every spool file was removed


def test_two_associations_sending_the_same_study_at_once_make_one_hierarchy(start_listener):
    listener = start_listener()
    files = series_files(CT_ABDOMEN)
    results = [None, None]

    def send(index: int) -> None:
        results[index] = storescu(listener, files, calling_ae=f"SENDER{index}")

    senders = [threading.Thread(target=send, args=(index,)) for index in range(2)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()

    for result in results:
        assert result.returncode == 0, result.stderr  # the slower copy of each slice is "already stored": success
    assert Patient.objects.count() == 1
    study = Study.objects.get()
    series = Series.objects.get()
    assert Instance.objects.count() == len(files)
    assert series.number_of_series_related_instances == len(files)
    assert study.number_of_study_related_instances == len(files)
    assert study.number_of_study_related_series == 1


@pytest.mark.parametrize(
    "folder", [CT_HEAD, CT_ABDOMEN], ids=["same-dataset-bytes", "sequences-re-encoded-by-storescu"]
)
def test_an_instance_imported_from_a_file_then_sent_by_a_modality_is_already_stored(start_listener, data_dir, folder):
    # The File Meta differs (storescu's implementation UID, not the file's), and storescu gives
    # the abdomen slice's undefined-length sequences explicit lengths: the same instance all the same.
    path = series_files(folder)[0]
    imported = ingest_file(path, origin=Origin(user_id=None, calling_ae_title=""))
    assert imported.outcome is Outcome.STORED
    row_before = Instance.objects.values().get()
    file_before = archived_files(data_dir)[0].read_bytes()
    listener = start_listener()

    result = storescu(listener, [path], calling_ae="CT_SCANNER")

    assert result.returncode == 0, result.stderr
    assert "refused" not in listener.log_when("association from", "released")  # answered 0x0000, not 0xC002
    assert "0xC002" not in result.stdout + result.stderr
    assert Instance.objects.values().get() == row_before  # no new row, the imported one untouched
    assert [p.read_bytes() for p in archived_files(data_dir)] == [file_before]  # no second file
    assert list((data_dir / "spool" / "dicom").iterdir()) == []


def send_raw(listener: Listener, files: list[Path], monkeypatch) -> list[int]:
    """C-STORE each file's own dataset bytes (pynetdicom chunked sending: no decoding, no re-encoding)."""
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)
    ae = AE(ae_title="RAW_SENDER")
    for path in files:
        header = read_header(path)
        ae.add_requested_context(str(header.dataset.SOPClassUID), header.transfer_syntax_uid)
    assoc = ae.associate("127.0.0.1", listener.port, ae_title=AE_TITLE)
    assert assoc.is_established
    try:
        return [assoc.send_c_store(path).Status for path in files]
    finally:
        assoc.release()


def test_a_raw_sender_gets_its_dataset_bytes_archived_untouched_across_many_pdus(start_listener, monkeypatch):
    # storescu re-encodes undefined-length sequences (this series has them); a 16 KiB maximum
    # PDU splits each 0.5 MB slice over ~32 P-DATA-TF PDUs that the listener must join exactly.
    listener = start_listener(DICOM_MAX_PDU="16384")
    files = series_files(CT_ABDOMEN)[:5]

    assert send_raw(listener, files, monkeypatch) == [0x0000] * len(files)

    for path in files:
        instance = Instance.objects.get(sop_instance_uid=str(read_header(path).dataset.SOPInstanceUID))
        assert dataset_sha256(Path(dicom_storage().path(instance.storage_key))) == dataset_sha256(path)


def compressed_samples() -> list[Path]:
    """One storable sample per transfer syntax other than Explicit VR Little Endian (from the MANIFEST)."""
    chosen: dict[str, Path] = {}
    with open(SAMPLES / "manifest.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            syntax = row["transfer_syntax_uid"]
            if row["study_uid"] and row["series_uid"] and syntax and syntax != ExplicitVRLittleEndian:
                chosen.setdefault(syntax, SAMPLES / row["path"])
    if len(chosen) < 10:
        pytest.skip("the compressed samples are not available")
    return list(chosen.values())


def test_compressed_and_big_endian_transfer_syntaxes_are_accepted_and_archived_as_sent(start_listener, monkeypatch):
    listener = start_listener()
    files = compressed_samples()  # JPEG baseline/extended/lossless, JPEG-LS, J2K, HTJ2K, RLE, deflate, big endian...

    assert send_raw(listener, files, monkeypatch) == [0x0000] * len(files)

    for path in files:
        header = read_header(path)
        instance = Instance.objects.get(sop_instance_uid=str(header.dataset.SOPInstanceUID))
        assert instance.transfer_syntax_uid == header.transfer_syntax_uid
        assert dataset_sha256(Path(dicom_storage().path(instance.storage_key))) == dataset_sha256(path)


def _dataset(**uids: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = uids.get("sop", generate_uid())
    ds.StudyInstanceUID = uids.get("study", generate_uid())
    ds.SeriesInstanceUID = uids.get("series", generate_uid())
    ds.PatientID = "MALLORY"
    ds.Modality = "CT"
    return ds


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")  # pydicom frowns on the UID we make it send
@pytest.mark.parametrize("uids", [{"study": "../../x"}, {"sop": "../../x"}], ids=["study-uid", "sop-instance-uid"])
def test_a_dataset_with_a_path_like_uid_is_refused_and_leaves_nothing_behind(start_listener, data_dir, uids):
    listener = start_listener()
    ae = AE(ae_title="MALLORY")
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", listener.port, ae_title=AE_TITLE)
    assert assoc.is_established
    try:
        answer = assoc.send_c_store(_dataset(**uids))
    finally:
        assoc.release()

    assert answer.Status == 0xC000
    assert answer.ErrorComment.startswith("invalid-uid: ") and "is not a valid UID" in answer.ErrorComment
    assert Instance.objects.count() == 0 and Study.objects.count() == 0
    assert archived_files(data_dir) == []
    assert list((data_dir / "spool" / "dicom").iterdir()) == []
    assert 'C-STORE from AE "MALLORY" at 127.0.0.1:' in listener.log_when('C-STORE from AE "MALLORY" at 127.0.0.1:') and "invalid-uid" in listener.log_when("invalid-uid")


def test_it_stops_cleanly_on_sigterm(start_listener):
    listener = start_listener()
    assert echoscu(listener).returncode == 0

    assert listener.stop() == 0
    assert "DICOM listener stopped" in listener.log_when("DICOM listener stopped")


def test_several_listener_processes_share_the_port(start_listener):
    listener = start_listener("--processes", "2")
    files = series_files(CT_ABDOMEN)[:6]

    results = [storescu(listener, files[:3], calling_ae="FIRST"), storescu(listener, files[3:], calling_ae="SECOND")]

    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert Instance.objects.count() == 6
    assert listener.log.count("DICOM listener LUMEN on") == 2
    pids = {line.split("(pid ")[1].split(",")[0] for line in listener.log.splitlines() if "DICOM listener LUMEN on" in line}
    assert len(pids) == 2
    assert listener.stop() == 0
    assert not any(_alive(int(pid)) for pid in pids)  # the children went with the supervisor


def test_listener_processes_do_not_outlive_a_killed_supervisor(start_listener):
    listener = start_listener("--processes", "2")
    pids = {int(line.split("(pid ")[1].split(",")[0]) for line in listener.log.splitlines() if "DICOM listener LUMEN on" in line}

    listener.process.kill()  # SIGKILL: the supervisor cannot forward anything
    listener.process.wait()

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids)  # the port is free for the next listener


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it has exited but its parent (now init) has not reaped it yet.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False
