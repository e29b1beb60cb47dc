"""WADO-RS: instances, metadata, frames and bulk data over HTTP (PS3.18 10.4)."""
from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.encaps import get_frame
from pydicom.uid import generate_uid

from studies.models import Instance
from studies.storage import dicom_storage
from tests.conftest import sample, write_dicom
from tests.studies.dicomweb.conftest import ingest_as, session_client

pytestmark = pytest.mark.django_db

DICOM = 'multipart/related; type="application/dicom"'
OCTETS = 'multipart/related; type="application/octet-stream"'


def parts_of(response) -> list[tuple[dict, bytes]]:
    """Split a multipart/related body (RFC 2046 5.1.1) into (headers, bytes) pairs."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    boundary = re.search(r'boundary="?([^";]+)', response["Content-Type"]).group(1).encode()
    delimiter = b"--" + boundary
    assert body.startswith(delimiter + b"\r\n") and body.endswith(b"\r\n" + delimiter + b"--\r\n")
    pieces = body[len(delimiter) + 2 : -len(delimiter) - 6].split(b"\r\n" + delimiter + b"\r\n")
    parts = []
    for piece in pieces:
        head, _, data = piece.partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        parts.append((headers, data))
    return parts


def stored_bytes(instance: Instance) -> bytes:
    with dicom_storage().open(instance.storage_key, "rb") as stored:
        return stored.read()


def test_alice_retrieves_her_study_byte_for_byte_as_stored(alice, alice_abdomen):
    answer = session_client(alice).get(f"/dicomweb/studies/{alice_abdomen}", HTTP_ACCEPT=DICOM)

    assert answer.status_code == 200 and answer.streaming
    assert answer["Content-Type"].startswith(DICOM + "; boundary=")
    parts = parts_of(answer)
    instances = Instance.objects.order_by("slice_position")
    assert len(parts) == 3
    for (headers, data), instance in zip(parts, instances):
        assert headers["Content-Type"] == "application/dicom; transfer-syntax=1.2.840.10008.1.2.1"
        assert data == stored_bytes(instance)
        assert hashlib.sha256(data).hexdigest() == instance.sha256


def test_a_series_and_an_instance_come_back_the_same_way(alice, alice_abdomen):
    client = session_client(alice)
    instance = Instance.objects.select_related("series").first()
    series_url = f"/dicomweb/studies/{alice_abdomen}/series/{instance.series.series_instance_uid}"

    assert len(parts_of(client.get(series_url))) == 3
    ((_, data),) = parts_of(client.get(f"{series_url}/instances/{instance.sop_instance_uid}", HTTP_ACCEPT=DICOM))
    assert data == stored_bytes(instance)
    # A single instance may also be asked for as a bare application/dicom body (PS3.18 8.7.3.5.1).
    bare = client.get(f"{series_url}/instances/{instance.sop_instance_uid}", HTTP_ACCEPT="application/dicom")
    assert bare["Content-Type"] == "application/dicom; transfer-syntax=1.2.840.10008.1.2.1"
    assert b"".join(bare.streaming_content) == stored_bytes(instance)


def test_instances_are_sent_as_stored_so_another_transfer_syntax_is_406(alice, alice_abdomen):
    client = session_client(alice)
    url = f"/dicomweb/studies/{alice_abdomen}"

    assert client.get(url, HTTP_ACCEPT=f"{DICOM}; transfer-syntax=*").status_code == 200
    assert client.get(url, HTTP_ACCEPT=f"{DICOM}; transfer-syntax=1.2.840.10008.1.2.1").status_code == 200
    refused = client.get(url, HTTP_ACCEPT=f"{DICOM}; transfer-syntax=1.2.840.10008.1.2.4.50")
    assert refused.status_code == 406
    assert "1.2.840.10008.1.2.1" in refused.json()["detail"]
    assert client.get(url, HTTP_ACCEPT="image/png").status_code == 406


def test_charlie_gets_the_same_404_for_alices_study_as_for_one_that_does_not_exist(alice_abdomen, charlie):
    client = session_client(charlie)
    instance = Instance.objects.select_related("series").first()
    series, sop = instance.series.series_instance_uid, instance.sop_instance_uid

    def answers(study: str) -> list[tuple[int, bytes]]:
        paths = [
            f"/dicomweb/studies/{study}",
            f"/dicomweb/studies/{study}/metadata",
            f"/dicomweb/studies/{study}/series/{series}",
            f"/dicomweb/studies/{study}/series/{series}/metadata",
            f"/dicomweb/studies/{study}/series/{series}/instances/{sop}",
            f"/dicomweb/studies/{study}/series/{series}/instances/{sop}/metadata",
            f"/dicomweb/studies/{study}/series/{series}/instances/{sop}/frames/1",
            f"/dicomweb/studies/{study}/series/{series}/instances/{sop}/bulkdata/7FE00010",
        ]
        return [(r.status_code, r.content) for r in map(client.get, paths)]

    seen = answers(alice_abdomen)
    assert {status for status, _ in seen} == {404}
    assert seen == answers(generate_uid())


def test_metadata_is_the_stored_json_with_a_bulk_data_uri_for_the_pixels_and_never_opens_a_file(alice, alice_abdomen, data_dir):
    for path in (data_dir / "archive").rglob("*.dcm"):
        path.unlink()  # the answer must come from the index alone

    answer = session_client(alice).get(f"/dicomweb/studies/{alice_abdomen}/metadata")

    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/dicom+json"
    metadata = json.loads(b"".join(answer.streaming_content))
    assert len(metadata) == 3
    by_uid = {m["00080018"]["Value"][0]: m for m in metadata}
    for instance in Instance.objects.select_related("series"):
        item = by_uid[instance.sop_instance_uid]
        assert item["00100010"] == instance.dicom_json["00100010"]
        assert item["00083002"]["Value"] == ["1.2.840.10008.1.2.1"]  # Available Transfer Syntax UID
        assert item["7FE00010"] == {
            "vr": "OW",
            "BulkDataURI": f"http://testserver/dicomweb/studies/{alice_abdomen}/series/"
            f"{instance.series.series_instance_uid}/instances/{instance.sop_instance_uid}/bulkdata/7FE00010",
        }


def test_series_and_instance_metadata_cover_just_that_series_or_instance(alice, make):
    study, series = generate_uid(), generate_uid()
    ingest_as(alice, make(study=study, series=series), make(study=study, series=series), make(study=study))
    client = session_client(alice)
    sop = Instance.objects.filter(series__series_instance_uid=series).first().sop_instance_uid

    series_metadata = json.loads(b"".join(client.get(f"/dicomweb/studies/{study}/series/{series}/metadata").streaming_content))
    assert len(series_metadata) == 2
    url = f"/dicomweb/studies/{study}/series/{series}/instances/{sop}/metadata"
    (one,) = json.loads(b"".join(client.get(url).streaming_content))
    assert one["00080018"]["Value"] == [sop]
    assert client.get(url, HTTP_ACCEPT="application/dicom+xml").status_code == 406


def test_a_native_frame_is_the_pixel_data_as_stored(alice, alice_abdomen):
    instance = Instance.objects.select_related("series").first()
    url = f"/dicomweb/studies/{alice_abdomen}/series/{instance.series.series_instance_uid}/instances/{instance.sop_instance_uid}/frames/1"

    ((headers, data),) = parts_of(session_client(alice).get(url, HTTP_ACCEPT=OCTETS))

    assert headers["Content-Type"] == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
    assert data == dcmread(dicom_storage().path(instance.storage_key)).PixelData


def test_frames_are_cached_privately_per_representation_so_a_reopened_study_skips_the_network(alice, alice_abdomen):
    instance = Instance.objects.select_related("series").first()
    url = f"/dicomweb/studies/{alice_abdomen}/series/{instance.series.series_instance_uid}/instances/{instance.sop_instance_uid}/frames/1"

    response = session_client(alice).get(url, HTTP_ACCEPT=OCTETS)

    cache_control = {d.strip() for d in response["Cache-Control"].split(",")}
    assert "private" in cache_control and "public" not in cache_control  # never in a shared cache
    assert "max-age=31536000" in cache_control
    vary = {v.strip() for v in response["Vary"].split(",")}
    assert {"Accept", "Cookie"} <= vary  # another representation or another user's session asks again


@pytest.fixture
def same_image_in_nine_syntaxes(alice):
    """One MR slice stored in nine lossless transfer syntaxes (implicit, big endian, RLE, JPEG-LS, J2K...)."""
    folder = sample("compressed/same_image_9_syntaxes")
    files = sorted(folder.glob("*.dcm"))
    ingest_as(alice, *files)
    return Instance.objects.select_related("series__study")


def _frames_url(instance: Instance, frames: str = "1") -> str:
    series = instance.series
    return f"/dicomweb/studies/{series.study.study_instance_uid}/series/{series.series_instance_uid}/instances/{instance.sop_instance_uid}/frames/{frames}"


def test_a_compressed_frame_is_decoded_to_the_same_native_bytes_whatever_the_stored_syntax(alice, same_image_in_nine_syntaxes):
    client = session_client(alice)
    reference = dcmread(sample("compressed/same_image_9_syntaxes/1.dcm")).pixel_array.astype("<u2").tobytes()

    syntaxes = set()
    for instance in same_image_in_nine_syntaxes:
        ((headers, data),) = parts_of(client.get(_frames_url(instance), HTTP_ACCEPT=OCTETS))
        assert headers["Content-Type"] == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
        assert data == reference, instance.transfer_syntax_uid
        syntaxes.add(instance.transfer_syntax_uid)
    assert len(syntaxes) == 7  # implicit, explicit, big endian, RLE, JPEG lossless, JPEG-LS, JPEG 2000


def test_a_client_that_accepts_the_stored_compressed_type_gets_the_stored_bytes(alice, same_image_in_nine_syntaxes):
    client = session_client(alice)
    jpeg_ls = same_image_in_nine_syntaxes.filter(transfer_syntax_uid="1.2.840.10008.1.2.4.80").first()
    with open(dicom_storage().path(jpeg_ls.storage_key), "rb") as stored:
        expected = get_frame(dcmread(stored).PixelData, 0, number_of_frames=1)

    ((headers, data),) = parts_of(client.get(_frames_url(jpeg_ls), HTTP_ACCEPT='multipart/related; type="image/jls"'))
    assert headers["Content-Type"] == "image/jls; transfer-syntax=1.2.840.10008.1.2.4.80"
    assert data == expected
    # transfer-syntax=* lets the server choose: the stored bytes, labelled with their syntax.
    ((headers, data),) = parts_of(client.get(_frames_url(jpeg_ls), HTTP_ACCEPT=f"{OCTETS}; transfer-syntax=*"))
    assert (headers["Content-Type"], data) == ("application/octet-stream; transfer-syntax=1.2.840.10008.1.2.4.80", expected)
    refused = client.get(_frames_url(jpeg_ls), HTTP_ACCEPT='multipart/related; type="image/jpeg"')
    assert refused.status_code == 406
    assert "image/jls" in refused.json()["detail"]


def test_frames_of_a_multiframe_jpeg_come_back_in_the_order_asked(alice):
    ingest_as(alice, sample("multiframe/us_multiframe_jpeg_baseline_34f.dcm"))
    instance = Instance.objects.select_related("series__study").get()
    client = session_client(alice)

    parts = parts_of(client.get(_frames_url(instance, "34,1"), HTTP_ACCEPT='multipart/related; type="image/jpeg"'))
    with open(dicom_storage().path(instance.storage_key), "rb") as stored:
        pixel_data = dcmread(stored).PixelData
    assert [data for _, data in parts] == [get_frame(pixel_data, 33, number_of_frames=34), get_frame(pixel_data, 0, number_of_frames=34)]
    assert all(data.startswith(b"\xff\xd8") for _, data in parts)  # JPEG SOI

    ((_, native),) = parts_of(client.get(_frames_url(instance, "2"), HTTP_ACCEPT=OCTETS))
    assert len(native) == 430 * 480 * 3  # decoded to RGB, 8 bits per sample
    assert np.frombuffer(native, np.uint8).std() > 0

    assert client.get(_frames_url(instance, "35")).status_code == 404
    assert client.get(_frames_url(instance, "0")).status_code == 400
    assert client.get(_frames_url(instance, "one")).status_code == 400


def test_the_pixel_bulk_data_uri_gives_every_frame(alice):
    ingest_as(alice, sample("multiframe/nema_enhanced_ct_2f.dcm"))
    instance = Instance.objects.select_related("series__study").get()
    client = session_client(alice)
    series = instance.series
    url = f"/dicomweb/studies/{series.study.study_instance_uid}/series/{series.series_instance_uid}/instances/{instance.sop_instance_uid}/bulkdata/7FE00010"

    parts = parts_of(client.get(url, HTTP_ACCEPT=OCTETS))

    pixel_data = dcmread(dicom_storage().path(instance.storage_key)).PixelData
    assert [data for _, data in parts] == [pixel_data[: 512 * 512 * 2], pixel_data[512 * 512 * 2 :]]
    assert client.get(url.replace("7FE00010", "00091001")).status_code == 404


def test_a_frame_no_installed_decoder_can_read_is_a_406_that_offers_the_stored_bytes(alice):
    # 12-bit JPEG Extended that the MANIFEST flags as undecodable with the installed decoders.
    ingest_as(alice, sample("compressed/one_per_transfer_syntax/1.2.840.10008.1.2.4.51.dcm"))
    instance = Instance.objects.select_related("series__study").get()
    client = session_client(alice)

    refused = client.get(_frames_url(instance), HTTP_ACCEPT=OCTETS)
    assert refused.status_code == 406
    assert 'type="image/jpeg"; transfer-syntax=1.2.840.10008.1.2.4.51' in refused.json()["detail"]

    wanted = 'multipart/related; type="image/jpeg"; transfer-syntax=1.2.840.10008.1.2.4.51'
    ((headers, data),) = parts_of(client.get(_frames_url(instance), HTTP_ACCEPT=wanted))
    assert headers["Content-Type"] == "image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.51"
    assert data.startswith(b"\xff\xd8")


def test_frames_of_an_instance_stored_again_come_from_the_new_file(alice, make, settings, tmp_path):
    settings.LUMEN_DUPLICATE_POLICY = "overwrite"
    study, series, sop = generate_uid(), generate_uid(), generate_uid()
    ingest_as(alice, write_dicom(tmp_path / "first.dcm", StudyInstanceUID=study, SeriesInstanceUID=series, SOPInstanceUID=sop))
    url = f"/dicomweb/studies/{study}/series/{series}/instances/{sop}/frames/1"
    client = session_client(alice)
    ((_, first),) = parts_of(client.get(url, HTTP_ACCEPT=OCTETS))  # the frame's whereabouts are now known to this process

    # The same SOP Instance UID again, with a longer header and other pixels: it replaces the first.
    ingest_as(alice, make(study=study, series=series, sop=sop, ImageComments="x" * 501))
    ((_, again),) = parts_of(client.get(url, HTTP_ACCEPT=OCTETS))

    assert first == bytes(128)
    assert again == dcmread(dicom_storage().path(Instance.objects.get().storage_key)).PixelData != first


def test_under_the_overwrite_policy_frames_are_asked_for_again_every_time(alice, alice_abdomen, settings):
    """A re-sent instance replaces the stored pixels under the same URL: a browser keeping the
    old frames for a year would show the replaced image."""
    settings.LUMEN_DUPLICATE_POLICY = "overwrite"
    instance = Instance.objects.select_related("series").first()
    url = f"/dicomweb/studies/{alice_abdomen}/series/{instance.series.series_instance_uid}/instances/{instance.sop_instance_uid}/frames/1"

    response = session_client(alice).get(url, HTTP_ACCEPT=OCTETS)

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-cache"
