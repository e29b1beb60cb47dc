"""STOW-RS: storing instances over HTTP through the one ingest funnel (PS3.18 10.5)."""
from __future__ import annotations

import io
import tracemalloc

import pytest
from pydicom.uid import generate_uid

from studies.dicomweb.multipart import MultipartError, spool_parts
from studies.models import Instance
from tests.conftest import archived_files
from tests.studies.dicomweb.conftest import ingest_as, session_client, token_client

pytestmark = pytest.mark.django_db

BOUNDARY = "lumen-test-boundary"
STOW = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'
FAILED, REFERENCED, RETRIEVE_URL, FAILURE_REASON = "00081198", "00081199", "00081190", "00081197"


def multipart(*payloads: bytes, part_type: str = "application/dicom") -> bytes:
    parts = b"".join(b"--%s\r\nContent-Type: %s\r\n\r\n%s\r\n" % (BOUNDARY.encode(), part_type.encode(), p) for p in payloads)
    return parts + b"--%s--\r\n" % BOUNDARY.encode()


def spool_is_empty(data_dir) -> bool:
    return not [p for p in (data_dir / "spool").rglob("*") if p.is_file()]


def test_alice_stores_two_instances_and_gets_where_to_retrieve_them(alice, make, data_dir):
    study = generate_uid()
    files = [make(study=study), make(study=study)]

    answer = token_client(alice).post("/dicomweb/studies", data=multipart(*(f.read_bytes() for f in files)), content_type=STOW)

    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/dicom+json"
    body = answer.json()
    assert body[RETRIEVE_URL]["Value"] == [f"http://testserver/dicomweb/studies/{study}"]
    assert FAILED not in body
    stored = {item["00081155"]["Value"][0]: item for item in body[REFERENCED]["Value"]}
    assert set(stored) == set(Instance.objects.values_list("sop_instance_uid", flat=True))
    for instance in Instance.objects.select_related("series"):
        item = stored[instance.sop_instance_uid]
        assert item["00081150"]["Value"] == ["1.2.840.10008.5.1.4.1.1.2"]
        assert item[RETRIEVE_URL]["Value"] == [
            f"http://testserver/dicomweb/studies/{study}/series/{instance.series.series_instance_uid}/instances/{instance.sop_instance_uid}"
        ]
        assert instance.uploaded_by == alice
    assert spool_is_empty(data_dir)


def test_a_part_that_is_not_dicom_fails_with_c000_while_the_others_are_stored(alice, make, data_dir):
    good = make(study=generate_uid())

    answer = token_client(alice).post("/dicomweb/studies", data=multipart(good.read_bytes(), b"hello, not DICOM"), content_type=STOW)

    assert answer.status_code == 202
    (failure,) = answer.json()[FAILED]["Value"]
    assert failure[FAILURE_REASON] == {"vr": "US", "Value": [0xC000]}
    assert len(answer.json()[REFERENCED]["Value"]) == 1
    assert "299 " in answer["Warning"] and "not a DICOM file" in answer["Warning"]
    assert Instance.objects.count() == 1
    assert spool_is_empty(data_dir)


def test_when_nothing_can_be_stored_the_answer_is_409(alice, data_dir):
    answer = token_client(alice).post("/dicomweb/studies", data=multipart(b"one", b"two"), content_type=STOW)

    assert answer.status_code == 409
    assert [f[FAILURE_REASON]["Value"] for f in answer.json()[FAILED]["Value"]] == [[0xC000], [0xC000]]
    assert REFERENCED not in answer.json()
    assert archived_files(data_dir) == []


def test_storing_into_a_study_refuses_an_instance_of_another_study_with_a900(alice, make, data_dir):
    target, other = generate_uid(), generate_uid()
    right, wrong = make(study=target), make(study=other)

    answer = token_client(alice).post(f"/dicomweb/studies/{target}", data=multipart(right.read_bytes(), wrong.read_bytes()), content_type=STOW)

    assert answer.status_code == 202
    (failure,) = answer.json()[FAILED]["Value"]
    assert failure[FAILURE_REASON]["Value"] == [0xA900]
    assert failure["00081150"]["Value"] == ["1.2.840.10008.5.1.4.1.1.2"]
    assert answer.json()[RETRIEVE_URL]["Value"] == [f"http://testserver/dicomweb/studies/{target}"]
    assert list(Instance.objects.values_list("series__study__study_instance_uid", flat=True)) == [target]
    assert len(archived_files(data_dir)) == 1


def test_sending_the_same_instance_again_is_a_success_and_different_bytes_under_its_uid_fail(alice, make, tmp_path):
    study, sop = generate_uid(), generate_uid()
    original = make(study=study, sop=sop)
    ingest_as(alice, original)
    original_bytes = original.read_bytes()
    altered = make(study=study, sop=sop, PatientName="Someone^Else")  # same file name: read the original first
    client = token_client(alice)

    again = client.post("/dicomweb/studies", data=multipart(original_bytes), content_type=STOW)
    assert again.status_code == 200
    assert again.json()[REFERENCED]["Value"][0]["00081155"]["Value"] == [sop]

    conflict = client.post("/dicomweb/studies", data=multipart(altered.read_bytes()), content_type=STOW)
    assert conflict.status_code == 409
    assert conflict.json()[FAILED]["Value"][0][FAILURE_REASON]["Value"] == [0x0111]
    assert Instance.objects.get().dicom_json["00100010"]["Value"] == [{"Alphabetic": "Doe^John"}]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/dicom",
        "application/json",
        "multipart/form-data; boundary=x",
        f'multipart/related; type="application/dicom+json"; boundary={BOUNDARY}',
    ],
)
def test_a_body_that_is_not_dicom_instances_is_415(alice, content_type):
    answer = token_client(alice).post("/dicomweb/studies", data=b"--x--", content_type=content_type)

    assert answer.status_code == 415
    assert "application/dicom" in answer.json()["detail"]


def test_a_part_of_another_media_type_is_415_and_nothing_is_stored(alice, make):
    body = multipart(make(study=generate_uid()).read_bytes()) [: -len(BOUNDARY) - 6] + multipart(b"{}", part_type="application/json")
    answer = token_client(alice).post("/dicomweb/studies", data=body, content_type=STOW)

    assert answer.status_code == 415
    assert Instance.objects.count() == 0


def test_a_body_over_the_upload_limit_is_413_and_leaves_nothing_behind(alice, make, settings, data_dir):
    settings.LUMEN_UPLOAD_MAX_BYTES = 1000
    body = multipart(make(study=generate_uid()).read_bytes())

    answer = token_client(alice).post("/dicomweb/studies", data=body, content_type=STOW)

    assert answer.status_code == 413
    assert "1000 bytes" in answer.json()["detail"]
    assert Instance.objects.count() == 0 and spool_is_empty(data_dir)


def test_a_malformed_multipart_body_is_400_and_the_spool_is_cleaned(alice, make, data_dir):
    cut = multipart(make(study=generate_uid()).read_bytes())[:-40]

    answer = token_client(alice).post("/dicomweb/studies", data=cut, content_type=STOW)

    assert answer.status_code == 400
    assert "malformed multipart body" in answer.json()["detail"]
    assert Instance.objects.count() == 0 and spool_is_empty(data_dir)


def test_a_session_user_must_send_the_csrf_token_to_store(alice, make):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    answer = client.post("/dicomweb/studies", data=multipart(make(study=generate_uid()).read_bytes()), content_type=STOW)

    assert answer.status_code == 403
    assert "CSRF" in answer.json()["detail"]
    assert session_client(alice).post("/dicomweb/studies", data=multipart(b"x"), content_type=STOW).status_code == 409


# --- The streaming reader on its own ----------------------------------------------------------


class Trickle(io.RawIOBase):
    """A body that arrives a few bytes at a time, so boundaries straddle reads."""

    def __init__(self, data: bytes, step: int):
        self.data, self.step, self.position = data, step, 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.data[self.position : self.position + min(size, self.step)]
        self.position += len(chunk)
        return chunk


def test_parts_are_spooled_byte_for_byte_whatever_the_read_sizes(tmp_path):
    payloads = [b"\r\n--" + BOUNDARY.encode()[:-1] + b"\r\n", bytes(range(256)) * 50, b""]
    body = b"preamble to ignore\r\n" + multipart(*payloads) + b"epilogue"
    for step in (1, 7, 64 * 1024):
        folder = tmp_path / f"step-{step}"
        folder.mkdir()
        parts = spool_parts(Trickle(body, step), BOUNDARY, folder, max_bytes=10**6)
        assert [p.path.read_bytes() for p in parts] == payloads
        assert parts[0].headers == {"content-type": "application/dicom"}


def test_the_reader_keeps_a_few_hundred_kilobytes_in_memory_for_a_large_body(tmp_path):
    payload = bytes(range(256)) * (64 * 1024)  # 16 MiB
    stream = io.BytesIO(multipart(payload, payload))
    tracemalloc.start()
    tracemalloc.reset_peak()
    parts = spool_parts(stream, BOUNDARY, tmp_path, max_bytes=10**9)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert [p.size for p in parts] == [len(payload), len(payload)]
    assert peak < 2 * 1024 * 1024


@pytest.mark.parametrize("body", [b"", b"no boundary here", b"--" + BOUNDARY.encode() + b"\r\nContent-Type: x\r\n\r\nnever closed"])
def test_the_reader_refuses_a_body_without_a_proper_boundary(tmp_path, body):
    with pytest.raises(MultipartError):
        spool_parts(io.BytesIO(body), BOUNDARY, tmp_path, max_bytes=10**6)


def test_charlie_cannot_store_his_way_into_alices_study(alice, charlie, make, data_dir):
    study = generate_uid()
    ingest_as(alice, make(study=study))
    intruder = make(study=study)

    answer = token_client(charlie).post("/dicomweb/studies", data=multipart(intruder.read_bytes()), content_type=STOW)

    assert answer.status_code == 409
    assert answer.json()[FAILED]["Value"][0][FAILURE_REASON]["Value"] == [0x0124]
    assert Instance.objects.count() == 1
    assert session_client(charlie).get(f"/dicomweb/studies?StudyInstanceUID={study}").json() == []
    # Alice herself may add to it.
    assert token_client(alice).post(f"/dicomweb/studies/{study}", data=multipart(intruder.read_bytes()), content_type=STOW).status_code == 200
