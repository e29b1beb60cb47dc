"""``Idempotency-Key`` on POST: a RIS that retries after a timeout gets the first answer, not a twin."""
import io
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from integrations.idempotency import TTL, idempotency_purge
from integrations.models import IdempotencyRecord
from studies.models import RemoteNode, SendJob, UploadJob
from tests.api.conftest import HEAD
from tests.conftest import client_with_token


def create_upload(client, key=None, data=None):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post("/api/uploads/", data or {}, format="json", headers=headers)


@pytest.mark.django_db
def test_a_retried_upload_create_returns_the_first_job(alice_api):
    first = create_upload(alice_api, "key-1")
    retry = create_upload(alice_api, "key-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert UploadJob.objects.count() == 1


@pytest.mark.django_db
def test_without_a_key_every_post_creates_a_job(alice_api):
    create_upload(alice_api)
    create_upload(alice_api)

    assert UploadJob.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_refused_with_422(alice_api):
    create_upload(alice_api, "key-1", {"note": "first"})
    response = create_upload(alice_api, "key-1", {"note": "second"})

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert UploadJob.objects.count() == 1


@pytest.mark.django_db
def test_keys_belong_to_their_user(alice, charlie):
    alices = create_upload(client_with_token(alice), "shared-key")
    charlies = create_upload(client_with_token(charlie), "shared-key")

    assert alices.json()["id"] != charlies.json()["id"]
    assert UploadJob.objects.get(pk=charlies.json()["id"]).owner == charlie


@pytest.mark.django_db
def test_a_key_past_its_24_hours_is_a_new_key(alice_api):
    first = create_upload(alice_api, "key-1")
    IdempotencyRecord.objects.update(created_at=IdempotencyRecord.objects.get().created_at - TTL - timedelta(minutes=1))

    again = create_upload(alice_api, "key-1")
    assert again.json()["id"] != first.json()["id"]
    assert "Idempotent-Replayed" not in again
    assert idempotency_purge() == 0  # the expired record was replaced by the new one


@pytest.mark.django_db
def test_expired_records_are_purged(alice_api):
    create_upload(alice_api, "old")
    create_upload(alice_api, "new")
    IdempotencyRecord.objects.filter(key="old").update(created_at=IdempotencyRecord.objects.get(key="old").created_at - TTL * 2)

    out = io.StringIO()
    call_command("purge_idempotency_keys", stdout=out)

    assert out.getvalue().strip() == "1 expired idempotency records deleted"
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db
def test_an_overlong_key_is_a_json_400(alice_api):
    response = create_upload(alice_api, "k" * 256)

    assert (response.status_code, response.json()["code"]) == (400, "invalid_idempotency_key")
    assert UploadJob.objects.count() == 0


@pytest.mark.django_db
def test_a_retried_send_returns_the_first_send_job_and_its_location(admin_api, archive):
    RemoteNode.objects.create(ae_title="VIEWER", host="127.0.0.1", port=104, is_move_destination=True)
    url = f"/api/studies/{HEAD}/send"

    first = admin_api.post(url, {"node": "VIEWER"}, format="json", headers={"Idempotency-Key": "send-1"})
    retry = admin_api.post(url, {"node": "VIEWER"}, format="json", headers={"Idempotency-Key": "send-1"})
    other = admin_api.post(url, {"node": "VIEWER", "series": f"{HEAD}.1"}, format="json", headers={"Idempotency-Key": "send-1"})

    assert (first.status_code, retry.status_code, other.status_code) == (202, 202, 422)
    assert retry.json()["id"] == first.json()["id"]
    assert retry["Location"] == first["Location"]
    assert SendJob.objects.count() == 1


@pytest.mark.django_db
def test_a_refused_request_is_replayed_as_refused(admin_api, archive):
    url = f"/api/studies/{HEAD}/send"
    RemoteNode.objects.create(ae_title="SCANNER", host="127.0.0.1", port=104, is_move_destination=False)

    first = admin_api.post(url, {"node": "SCANNER"}, format="json", headers={"Idempotency-Key": "send-1"})
    retry = admin_api.post(url, {"node": "SCANNER"}, format="json", headers={"Idempotency-Key": "send-1"})

    assert first.status_code == retry.status_code == 400
    assert retry.json() == first.json()


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_with_one_key_create_one_job(alice):
    clients = [client_with_token(alice) for _ in range(4)]
    start = threading.Barrier(len(clients))
    answers = []

    def post(client):
        try:
            start.wait()
            response = create_upload(client, "same-key")
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert UploadJob.objects.count() == 1
    job_id = str(UploadJob.objects.get().pk)
    # Each request either created the job, replayed it, or was told the first one is still running.
    assert len(answers) == 4
    for status, body in answers:
        assert (status == 201 and body["id"] == job_id) or (status == 409 and body["code"] == "idempotency_key_in_use")
    assert any(status == 201 for status, _ in answers)
