"""WADO-RS series metadata is kept once built (studies/dicomweb/metadata.py) and answered again
only while it is still current: an instance added, re-stored or removed, a change of the series
or of the study, and the next answer is rebuilt. Who may see the series is checked on every request."""
from __future__ import annotations

import json

import pytest
from django.db import connection
from pydicom.uid import generate_uid

from audit.models import AuditEvent
from studies.models import Instance, Series, SeriesMetadata, Study, StudyAccess
from tests.studies.dicomweb.conftest import ingest_as, session_client

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="kept on PostgreSQL only"),
]


@pytest.fixture
def series_of_two(alice, make):
    """Alice's study with one series of two instances; returns (study UID, series UID)."""
    study, series = generate_uid(), generate_uid()
    ingest_as(alice, make(study=study, series=series, InstanceNumber=1), make(study=study, series=series, InstanceNumber=2))
    return study, series


def metadata_of(client, study: str, series: str, **headers) -> tuple[int, list | None]:
    response = client.get(f"/dicomweb/studies/{study}/series/{series}/metadata", **headers)
    if response.status_code != 200:
        return response.status_code, None
    body = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(body)
    return 200, json.loads(body)


def sops(metadata: list) -> list[str]:
    return [item["00080018"]["Value"][0] for item in metadata]


def test_the_second_answer_is_the_kept_one_and_says_the_same(alice, series_of_two):
    client = session_client(alice)
    first = metadata_of(client, *series_of_two)
    assert SeriesMetadata.objects.count() == 1
    kept = SeriesMetadata.objects.get()

    assert metadata_of(client, *series_of_two) == first
    assert SeriesMetadata.objects.get().version == kept.version  # served, not rebuilt
    # The same items the study's metadata (never kept) lists for this series.
    study = json.loads(b"".join(client.get(f"/dicomweb/studies/{series_of_two[0]}/metadata").streaming_content))
    assert first[1] == study


def test_each_answer_carries_the_bulk_data_uris_of_its_own_host(alice, series_of_two):
    client = session_client(alice)
    metadata_of(client, *series_of_two)
    _, answer = metadata_of(client, *series_of_two, HTTP_HOST="127.0.0.1")

    study, series = series_of_two
    for item in answer:
        assert item["7FE00010"]["BulkDataURI"] == (
            f"http://127.0.0.1/dicomweb/studies/{study}/series/{series}/instances/{item['00080018']['Value'][0]}/bulkdata/7FE00010"
        )
    assert '"BulkDataURI": "/' in SeriesMetadata.objects.get().body  # kept without a host


def test_an_instance_added_to_the_series_is_in_the_next_answer(alice, make, series_of_two):
    client = session_client(alice)
    metadata_of(client, *series_of_two)
    study, series = series_of_two
    third = generate_uid()
    ingest_as(alice, make(study=study, series=series, sop=third, InstanceNumber=3))

    _, answer = metadata_of(client, *series_of_two)
    assert len(answer) == 3 and third in sops(answer)


def test_a_changed_header_is_in_the_next_answer(alice, series_of_two):
    client = session_client(alice)
    metadata_of(client, *series_of_two)
    instance = Instance.objects.order_by("instance_number").first()
    header = {**instance.dicom_json, "00100010": {"vr": "PN", "Value": [{"Alphabetic": "ROE^JANE"}]}}
    Instance.objects.filter(pk=instance.pk).update(dicom_json=header)  # any writer, no hook

    _, answer = metadata_of(client, *series_of_two)
    item = next(i for i in answer if i["00080018"]["Value"] == [instance.sop_instance_uid])
    assert item["00100010"]["Value"] == [{"Alphabetic": "ROE^JANE"}]


def test_a_removed_instance_leaves_the_next_answer_and_an_emptied_series_is_404(alice, series_of_two):
    client = session_client(alice)
    metadata_of(client, *series_of_two)
    first, second = Instance.objects.order_by("instance_number")
    first.delete()

    _, answer = metadata_of(client, *series_of_two)
    assert sops(answer) == [second.sop_instance_uid]
    second.delete()
    assert metadata_of(client, *series_of_two) == (404, None)


def test_a_change_of_the_study_or_the_series_makes_the_kept_answer_stale(alice, series_of_two):
    client = session_client(alice)
    metadata_of(client, *series_of_two)
    versions = [SeriesMetadata.objects.get().version]

    Study.objects.update(study_description="CT HEAD")
    metadata_of(client, *series_of_two)
    versions.append(SeriesMetadata.objects.get().version)
    Series.objects.update(series_description="AXIAL")
    metadata_of(client, *series_of_two)
    versions.append(SeriesMetadata.objects.get().version)

    assert len(set(versions)) == 3


def test_deleting_the_study_deletes_the_kept_answer(alice, series_of_two):
    client = session_client(alice)
    metadata_of(client, *series_of_two)
    Study.objects.all().delete()

    assert not SeriesMetadata.objects.exists()  # the PHI it holds goes with the study
    assert metadata_of(client, *series_of_two) == (404, None)


def test_a_kept_answer_opens_the_series_to_nobody_who_may_not_see_it(alice, charlie, radiologist, series_of_two):
    metadata_of(session_client(alice), *series_of_two)
    assert SeriesMetadata.objects.exists()
    unknown = generate_uid()

    for outsider in (charlie, radiologist):  # Alice's upload is not in the reading pool
        client = session_client(outsider)
        denied = client.get(f"/dicomweb/studies/{series_of_two[0]}/series/{series_of_two[1]}/metadata")
        missing = client.get(f"/dicomweb/studies/{series_of_two[0]}/series/{unknown}/metadata")
        assert (denied.status_code, denied.content) == (missing.status_code, missing.content) == (404, missing.content)
    # Alice's access withdrawn: the kept answer is no longer hers either.
    StudyAccess.objects.filter(user=alice).delete()
    assert metadata_of(session_client(alice), *series_of_two) == (404, None)


def test_a_kept_answer_still_negotiates_its_media_type(alice, series_of_two):
    client = session_client(alice)
    metadata_of(client, *series_of_two)
    url = f"/dicomweb/studies/{series_of_two[0]}/series/{series_of_two[1]}/metadata"
    assert client.get(url, HTTP_ACCEPT="application/dicom+xml").status_code == 406


def test_keeping_a_studys_metadata_builds_what_is_not_current_and_nothing_else(alice, make, series_of_two):
    from studies.dicomweb.metadata import keep_study_metadata

    study = Study.objects.get()
    ingest_as(alice, make(study=series_of_two[0]))  # a second series
    assert keep_study_metadata(study_id=study.pk) == 2
    assert keep_study_metadata(study_id=study.pk) == 0  # both current
    Series.objects.filter(series_instance_uid=series_of_two[1]).update(series_description="AXIAL")
    assert keep_study_metadata(study_id=study.pk) == 1

    kept = SeriesMetadata.objects.get(series__series_instance_uid=series_of_two[1])
    _, answer = metadata_of(session_client(alice), *series_of_two)
    assert SeriesMetadata.objects.get(pk=kept.pk).version == kept.version  # served as kept, not rebuilt
    assert len(answer) == 2


def test_a_viewer_revalidating_an_unchanged_answer_gets_a_304_and_a_changed_one_in_full(alice, charlie, make, series_of_two):
    client = session_client(alice)
    url = f"/dicomweb/studies/{series_of_two[0]}/series/{series_of_two[1]}/metadata"
    first = client.get(url)
    b"".join(first.streaming_content)
    assert first["Cache-Control"] == "private, no-cache"  # kept by the browser, asked again each time

    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == first["ETag"]
    assert session_client(charlie).get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 404

    ingest_as(alice, make(study=series_of_two[0], series=series_of_two[1], InstanceNumber=3))
    changed = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]
    assert len(json.loads(b"".join(changed.streaming_content))) == 3
    assert AuditEvent.objects.filter(action="wado", detail__what="metadata").count() == 3  # the 304 too
