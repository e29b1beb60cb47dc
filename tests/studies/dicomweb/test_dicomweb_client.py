"""Loopback: the dicomweb-client package, a real DICOMweb peer, against the running server."""
from __future__ import annotations

from urllib.parse import urlsplit

import pydicom
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.encaps import get_frame
from pydicom.uid import generate_uid
from rest_framework.authtoken.models import Token

from studies.models import Instance
from studies.storage import dicom_storage
from tests.conftest import sample
from tests.studies.dicomweb.conftest import ingest_as

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingSession(requests.Session):
    """Keeps every response body, to compare what went over the wire with the archive's files."""

    def __init__(self):
        super().__init__()
        self.bodies: list[bytes] = []
        self.hooks["response"].append(lambda response, *args, **kwargs: self.bodies.append(response.content))


def client_for(user, live_server) -> tuple[DICOMwebClient, RecordingSession]:
    token = Token.objects.create(user=user)
    session = RecordingSession()
    client = DICOMwebClient(url=f"{live_server.url}/dicomweb", session=session, headers={"Authorization": f"Bearer {token.key}"})
    return client, session


def stored_bytes(instance: Instance) -> bytes:
    with dicom_storage().open(instance.storage_key, "rb") as stored:
        return stored.read()


def test_a_dicomweb_client_searches_retrieves_and_stores_like_against_any_archive(live_server, alice, abdomen_files):
    ingest_as(alice, *abdomen_files)
    client, wire = client_for(alice, live_server)

    # QIDO-RS
    (study,) = client.search_for_studies(search_filters={"PatientID": "CRLM-CT-1006", "StudyDate": "19000101-"})
    study_uid = study["0020000D"]["Value"][0]
    assert client.search_for_studies(search_filters={"PatientName": "crlm*"}, fuzzymatching=True)[0] == study
    assert client.search_for_studies(search_filters={"ModalitiesInStudy": "MR"}) == []
    (series,) = client.search_for_series(study_uid, search_filters={"Modality": "CT"})
    series_uid = series["0020000E"]["Value"][0]
    instances = client.search_for_instances(study_uid, series_uid, fields=["SliceThickness"], limit=2)
    assert len(instances) == 2 and all(i["00180050"]["Value"] == [5.0] for i in instances)
    assert len(client.search_for_instances(study_uid, series_uid, get_remaining=True)) == 3

    # WADO-RS: every file arrives exactly as stored.
    retrieved = client.retrieve_study(study_uid)
    assert sorted(ds.SOPInstanceUID for ds in retrieved) == sorted(Instance.objects.values_list("sop_instance_uid", flat=True))
    for instance in Instance.objects.all():
        assert stored_bytes(instance) in wire.bodies[-1]
    assert len(client.retrieve_series(study_uid, series_uid)) == 3
    instance = Instance.objects.select_related("series").first()
    one = client.retrieve_instance(study_uid, series_uid, instance.sop_instance_uid)
    assert one.SOPInstanceUID == instance.sop_instance_uid
    assert stored_bytes(instance) in wire.bodies[-1]

    metadata = client.retrieve_study_metadata(study_uid)
    assert len(metadata) == 3
    instance_metadata = client.retrieve_instance_metadata(study_uid, series_uid, instance.sop_instance_uid)
    assert instance_metadata["00080018"]["Value"] == [instance.sop_instance_uid]

    (frame,) = client.retrieve_instance_frames(study_uid, series_uid, instance.sop_instance_uid, frame_numbers=[1])
    assert frame == one.PixelData
    # dicomweb-client sends "Host: localhost" without the port, so the URIs built from it lack the
    # port of the test server; a real deployment on 443 or 80 is not affected.
    bulk_data_path = urlsplit(instance_metadata["7FE00010"]["BulkDataURI"]).path
    assert bulk_data_path.endswith(f"/instances/{instance.sop_instance_uid}/bulkdata/7FE00010")
    (pixels,) = client.retrieve_bulkdata(live_server.url + bulk_data_path)
    assert pixels == one.PixelData


def test_a_dicomweb_client_stores_compressed_instances_and_gets_the_stored_frames_back(live_server, alice):
    client, _ = client_for(alice, live_server)
    jpeg_ls = pydicom.dcmread(sample("compressed/one_per_transfer_syntax/1.2.840.10008.1.2.4.80.dcm"))
    jpeg_2000 = pydicom.dcmread(sample("compressed/one_per_transfer_syntax/1.2.840.10008.1.2.4.91.dcm"))

    answer = client.store_instances([jpeg_ls, jpeg_2000])

    stored = sorted(item.ReferencedSOPInstanceUID for item in answer.ReferencedSOPSequence)
    assert stored == sorted([jpeg_ls.SOPInstanceUID, jpeg_2000.SOPInstanceUID])
    assert "FailedSOPSequence" not in answer
    assert Instance.objects.get(sop_instance_uid=jpeg_ls.SOPInstanceUID).uploaded_by == alice

    uids = (jpeg_ls.StudyInstanceUID, jpeg_ls.SeriesInstanceUID, jpeg_ls.SOPInstanceUID)
    (as_stored,) = client.retrieve_instance_frames(*uids, frame_numbers=[1], media_types=(("image/jls", "1.2.840.10008.1.2.4.80"),))
    assert as_stored == get_frame(jpeg_ls.PixelData, 0, number_of_frames=1)
    (native,) = client.retrieve_instance_frames(*uids, frame_numbers=[1], media_types=(("application/octet-stream", "1.2.840.10008.1.2.1"),))
    assert native == jpeg_ls.pixel_array.astype(jpeg_ls.pixel_array.dtype.newbyteorder("<")).tobytes()


def test_charlie_with_a_dicomweb_client_sees_nothing_of_alices(live_server, alice, charlie, abdomen_files):
    ingest_as(alice, *abdomen_files)
    study_uid = Instance.objects.select_related("series__study").first().series.study.study_instance_uid
    client, _ = client_for(charlie, live_server)

    assert client.search_for_studies() == []
    assert client.search_for_studies(search_filters={"StudyInstanceUID": study_uid}) == []
    answers = []
    for uid in (study_uid, generate_uid()):
        with pytest.raises(requests.HTTPError) as refused:
            client.retrieve_study(uid)
        answers.append((refused.value.response.status_code, refused.value.response.content))
    assert answers[0] == answers[1] and answers[0][0] == 404
