"""Webhook deliveries end to end: emit() → a real Celery worker → a real HTTP receiver."""
from __future__ import annotations

import json
import time

import pytest
from django.db import transaction

from integrations import webhooks
from integrations.models import WebhookDelivery, WebhookEndpoint
from tests.integrations.conftest import SECRET

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_SECONDS = 60  # a safety net for a hung worker, not a speed check

REPORT = {"report_id": 7, "study_instance_uid": "1.2.3", "accession_number": "ACC-7", "status": "final", "version": 1}


def settled(delivery_id, tmp_path) -> WebhookDelivery:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        if delivery.status in (WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.FAILED):
            return delivery
        time.sleep(0.1)
    pytest.fail(f"delivery still {delivery.status}; worker log:\n{(tmp_path / 'worker.log').read_text(errors='replace')[-4000:]}")


def test_the_receiver_gets_a_signed_payload_it_can_verify(webhook_worker, endpoint, receiver, tmp_path):
    with transaction.atomic():
        webhooks.emit("report.final", REPORT)
    delivery = settled(WebhookDelivery.objects.get().pk, tmp_path)

    assert delivery.status == "succeeded" and delivery.attempts == 1 and delivery.last_status_code == 200
    [got] = receiver.requests
    headers = got.headers
    assert headers["content-type"] == "application/json"
    assert headers["x-lumen-event"] == "report.final"
    assert headers["x-lumen-delivery"] == str(delivery.pk)
    assert webhooks.verify(SECRET, headers["x-lumen-timestamp"], got.body, headers["x-lumen-signature"])
    assert not webhooks.verify("another-secret-of-some-length", headers["x-lumen-timestamp"], got.body, headers["x-lumen-signature"])
    assert not webhooks.verify(SECRET, headers["x-lumen-timestamp"], got.body + b" ", headers["x-lumen-signature"])
    body = json.loads(got.body)
    assert body["event"] == "report.final" and body["id"] == str(delivery.event_id) and body["data"] == REPORT


def test_a_receiver_failing_twice_gets_it_once_and_the_log_shows_three_attempts(webhook_worker, endpoint, receiver, tmp_path):
    receiver.script = [500, 500, 200]
    webhooks.emit("report.final", REPORT)
    delivery = settled(WebhookDelivery.objects.get().pk, tmp_path)

    assert delivery.status == "succeeded" and delivery.attempts == 3
    attempts = list(delivery.attempt_log.order_by("number"))
    assert [(a.number, a.status_code) for a in attempts] == [(1, 500), (2, 500), (3, 200)]
    assert attempts[0].started_at < attempts[1].started_at < attempts[2].started_at
    # Exactly three POSTs, one of them answered with success, all with one delivery id and body.
    assert len(receiver.requests) == 3
    assert {r.headers["x-lumen-delivery"] for r in receiver.requests} == {str(delivery.pk)}
    assert len({r.body for r in receiver.requests}) == 1


def test_a_4xx_is_not_retried(webhook_worker, endpoint, receiver, tmp_path):
    receiver.script = [410]
    webhooks.emit("report.final", REPORT)
    delivery = settled(WebhookDelivery.objects.get().pk, tmp_path)

    assert delivery.status == "failed" and delivery.attempts == 1 and delivery.last_status_code == 410
    assert len(receiver.requests) == 1
    time.sleep(1)  # longer than the first two backoffs: a retry would have come by now
    assert len(receiver.requests) == 1 and delivery.attempt_log.count() == 1


def test_a_429_is_retried(webhook_worker, endpoint, receiver, tmp_path):
    receiver.script = [429]
    webhooks.emit("report.final", REPORT)
    delivery = settled(WebhookDelivery.objects.get().pk, tmp_path)

    assert delivery.status == "succeeded" and [a.status_code for a in delivery.attempt_log.all()] == [429, 200]


def test_an_unreachable_receiver_is_retried_until_max_attempts(webhook_worker, endpoint, receiver, tmp_path, settings):
    from tests.conftest import free_port

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=f"http://127.0.0.1:{free_port()}/nobody-listens")
    webhooks.emit("report.final", REPORT)
    delivery = settled(WebhookDelivery.objects.get().pk, tmp_path)

    assert delivery.status == "failed" and delivery.attempts == settings.LUMEN_WEBHOOK_MAX_ATTEMPTS
    assert all(a.status_code is None and "refused" in a.error.lower() for a in delivery.attempt_log.all())


def test_an_inactive_endpoint_gets_nothing(webhook_worker, endpoint, receiver, admin_user, tmp_path):
    endpoint.active = False
    endpoint.save()
    other = WebhookEndpoint.objects.create(url=receiver.url + "?other", secret=SECRET, events=["report.final"], created_by=admin_user)
    webhooks.emit("report.final", REPORT)
    delivery = settled(WebhookDelivery.objects.get().pk, tmp_path)

    assert delivery.endpoint == other and delivery.status == "succeeded"
    assert [r.headers["x-lumen-delivery"] for r in receiver.requests] == [str(delivery.pk)]
    assert not WebhookDelivery.objects.filter(endpoint=endpoint).exists()


def test_an_endpoint_gets_only_the_events_it_subscribed_to(endpoint):
    webhooks.emit("report.amended", REPORT)
    assert not WebhookDelivery.objects.exists()


def test_a_rolled_back_transaction_sends_nothing(endpoint):
    with pytest.raises(RuntimeError), transaction.atomic():
        webhooks.emit("report.final", REPORT)
        raise RuntimeError("the report could not be signed")
    assert not WebhookDelivery.objects.exists()


def test_an_unknown_event_is_a_programming_error(endpoint):
    with pytest.raises(ValueError):
        webhooks.emit("report.signed", REPORT)


def test_a_test_event_reaches_the_endpoint(webhook_worker, endpoint, receiver, admin_user, tmp_path):
    delivery = webhooks.endpoint_send_test(endpoint=endpoint, actor=admin_user)
    delivery = settled(delivery.pk, tmp_path)

    assert delivery.status == "succeeded"
    [got] = receiver.requests
    assert got.headers["x-lumen-event"] == "webhook.test" and json.loads(got.body)["data"]["requested_by"] == "admin"
