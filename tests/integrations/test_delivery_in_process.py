"""Delivery rules checked by calling the attempt in this process (the worker tests cover the queue):
private addresses refused when configured, lost deliveries swept, duplicates never POST twice."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations import webhooks
from integrations.models import WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued(monkeypatch):
    """What would have gone to the broker, kept here."""
    sent = []
    monkeypatch.setattr(webhooks, "_enqueue", lambda delivery_id, even_inactive=False, eta=None: sent.append((delivery_id, eta)))
    return sent


def test_a_private_address_is_refused_when_configured_and_not_retried(endpoint, receiver, queued, settings):
    settings.LUMEN_WEBHOOK_BLOCK_PRIVATE_ADDRESSES = True
    webhooks.emit("report.final", {"report_id": 1})
    delivery = WebhookDelivery.objects.get()
    webhooks.delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == 1 and "non-public address" in delivery.last_error
    assert receiver.requests == [] and len(queued) == 1  # only the first enqueue, no retry


def test_a_duplicate_task_does_not_post_twice(endpoint, receiver, queued):
    webhooks.emit("report.final", {"report_id": 1})
    delivery = WebhookDelivery.objects.get()
    webhooks.delivery_attempt(delivery_id=delivery.pk)
    webhooks.delivery_attempt(delivery_id=delivery.pk)  # the same task delivered again by the broker

    assert len(receiver.requests) == 1 and WebhookDelivery.objects.get().attempts == 1


def test_a_retry_waits_for_its_backoff(endpoint, receiver, queued, fast_retries):
    receiver.script = [503]
    webhooks.emit("report.final", {"report_id": 1})
    delivery = WebhookDelivery.objects.get()
    webhooks.delivery_attempt(delivery_id=delivery.pk)
    webhooks.delivery_attempt(delivery_id=delivery.pk)  # too early: the retry is not due yet

    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1 and len(receiver.requests) == 1
    (_, first), (_, retry) = queued
    assert first is None and retry == delivery.next_attempt_at


def test_the_sweeper_queues_lost_deliveries_again(endpoint, receiver, queued, settings):
    webhooks.emit("report.final", {"report_id": 1})
    delivery = WebhookDelivery.objects.get()
    queued.clear()  # the task was lost
    later = timezone.now() + timedelta(seconds=settings.LUMEN_WEBHOOK_SWEEP_SECONDS + 1)
    assert webhooks.sweep(now=later) == 1
    assert [d for d, _ in queued] == [delivery.pk]

    # A worker died during an attempt: the delivery goes back to pending and is sent again.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="sending", claimed_at=timezone.now() - timedelta(hours=1))
    webhooks.sweep(now=timezone.now())
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "pending"
    webhooks.delivery_attempt(delivery_id=delivery.pk)
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "succeeded" and len(receiver.requests) == 1


def test_a_deactivated_endpoint_gets_nothing_already_queued(endpoint, receiver, queued):
    webhooks.emit("report.final", {"report_id": 1})
    endpoint.active = False
    endpoint.save()
    webhooks.delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)

    assert receiver.requests == [] and WebhookDelivery.objects.get().status == "failed"


def test_backoff_doubles_and_is_capped(settings):
    settings.LUMEN_WEBHOOK_BACKOFF_SECONDS = 30
    settings.LUMEN_WEBHOOK_BACKOFF_MAX_SECONDS = 3600
    assert [webhooks.backoff(n) for n in (1, 2, 3, 4, 9)] == [30, 60, 120, 240, 3600]


def test_a_stale_or_forged_signature_does_not_verify():
    body = b'{"event":"report.final"}'
    good = webhooks.signature("s3cret-s3cret-s3cret", "1700000000", body)
    assert webhooks.verify("s3cret-s3cret-s3cret", "1700000000", body, good, now=1700000100)
    assert not webhooks.verify("s3cret-s3cret-s3cret", "1700000000", body, good, now=1700000000 + 301)
    assert not webhooks.verify("s3cret-s3cret-s3cret", "1700000001", body, good, now=1700000100)
    assert not webhooks.verify("s3cret-s3cret-s3cret", "not-a-time", body, good)
