"""Outgoing webhooks: HMAC-signed JSON POSTs to the endpoints a RIS registered, with retries and
a delivery log. docs/webhooks.md is the receiver's side of this contract.

    emit("report.final", {...})   # records one delivery per subscribed active endpoint, queued on commit

Each attempt POSTs the same body with headers ``X-Lumen-Event``, ``X-Lumen-Delivery`` (the
delivery id, the same on every retry), ``X-Lumen-Timestamp`` (Unix seconds of this attempt) and
``X-Lumen-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``. 2xx is success;
connection errors, timeouts, 5xx and 429 are retried with exponential backoff up to
LUMEN_WEBHOOK_MAX_ATTEMPTS; any other answer (other 4xx, 3xx: redirects are not followed) fails
the delivery at once. Each attempt is a WebhookAttempt row.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

STUDY_RECEIVED = "study.received"
REPORT_FINAL = "report.final"
REPORT_AMENDED = "report.amended"
TEST = "webhook.test"
EVENTS = {
    STUDY_RECEIVED: "a study is complete: no new instance for LUMEN_STUDY_STABLE_SECONDS (again after a late instance)",
    REPORT_FINAL: "a report was signed final",
    REPORT_AMENDED: "an addendum to a final report was signed",
}
# Sent to one endpoint on demand ("send test event"), whatever it subscribed to.
ALL_EVENTS = (*EVENTS, TEST)

USER_AGENT = "Lumen-PACS-Webhooks/1"
RESPONSE_EXCERPT = 500  # characters of the receiver's answer kept in the log


def emit(event: str, payload: dict) -> None:
    """Record a delivery of ``event`` for every active endpoint subscribed to it; each is sent by a
    Celery task once the surrounding transaction commits (at once outside a transaction).

    Call it inside the transaction that makes the event true, so a rollback sends nothing.
    ``payload`` must be JSON-serializable (datetimes, UUIDs and decimals are turned into text).
    """
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}; known: {', '.join(EVENTS)}")
    endpoints = [endpoint for endpoint in WebhookEndpoint.objects.filter(active=True) if endpoint.wants(event)]
    if endpoints:
        _record(endpoints, event, payload)


def endpoint_send_test(*, endpoint: WebhookEndpoint, actor=None) -> WebhookDelivery:
    """A ``webhook.test`` delivery to this endpoint alone (active or not: the admin asked for it)."""
    payload = {"message": "This is a test event from Lumen PACS.", "endpoint_id": endpoint.pk,
               "requested_by": getattr(actor, "username", None)}
    return _record([endpoint], TEST, payload, even_inactive=True)[0]


def _record(endpoints: list[WebhookEndpoint], event: str, payload: dict, even_inactive: bool = False) -> list[WebhookDelivery]:
    # Round-trip through JSON now: what is logged is exactly what will be sent.
    data = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    event_id, now = uuid.uuid4(), timezone.now()
    with transaction.atomic():
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(endpoint=endpoint, event=event, event_id=event_id, payload=data, next_attempt_at=now)
                for endpoint in endpoints
            ]
        )
        for delivery in deliveries:
            transaction.on_commit(partial(_enqueue, delivery.pk, even_inactive), robust=True)
    return deliveries


def _enqueue(delivery_id, even_inactive: bool = False, eta=None) -> None:
    from integrations.tasks import deliver_webhook

    deliver_webhook.apply_async((str(delivery_id), even_inactive), eta=eta)


# --- What goes over the wire ------------------------------------------------------------------


def body_of(delivery: WebhookDelivery) -> bytes:
    """The POST body: the same bytes on every attempt (keys sorted, compact)."""
    envelope = {
        "id": str(delivery.event_id),
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, "<timestamp>.<body>")."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str, *, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does (docs/webhooks.md): a constant-time compare, and a timestamp no older
    than ``tolerance`` seconds so a captured request cannot be replayed later."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(signature(secret, timestamp, body), header)


def headers_for(delivery: WebhookDelivery, body: bytes, timestamp: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Lumen-Event": delivery.event,
        "X-Lumen-Delivery": str(delivery.pk),
        "X-Lumen-Timestamp": timestamp,
        "X-Lumen-Signature": signature(delivery.endpoint.secret, timestamp, body),
    }


# --- Delivering -------------------------------------------------------------------------------


def delivery_attempt(*, delivery_id, even_inactive: bool = False) -> None:
    """Make the delivery's next attempt if it is due, log it, and schedule a retry or finish.

    Safe to run twice: the attempt is claimed pending → sending with a conditional UPDATE."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(status=WebhookDelivery.Status.SENDING, claimed_at=now)
    if not claimed:
        return
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if not delivery.endpoint.active and not (even_inactive and delivery.event == TEST):
        _finish(delivery, WebhookDelivery.Status.FAILED, error="the endpoint is not active")
        return
    number = delivery.attempts + 1
    started, clock = timezone.now(), time.monotonic()
    refused = refused_address(delivery.endpoint.url)
    if refused:  # a configuration matter, not a passing failure: not retried
        WebhookAttempt.objects.create(delivery=delivery, number=number, started_at=started, error=refused)
        _finish(delivery, WebhookDelivery.Status.FAILED, attempts=number, error=refused)
        return
    status_code, error, excerpt, retry_after = _post(delivery)
    duration_ms = int((time.monotonic() - clock) * 1000)
    WebhookAttempt.objects.create(
        delivery=delivery, number=number, started_at=started, duration_ms=duration_ms,
        status_code=status_code, error=error, response_excerpt=excerpt,
    )
    if status_code is not None and 200 <= status_code < 300:
        _finish(delivery, WebhookDelivery.Status.SUCCEEDED, attempts=number, status_code=status_code, delivered_at=timezone.now())
    elif _retryable(status_code) and number < settings.LUMEN_WEBHOOK_MAX_ATTEMPTS:
        wait = max(backoff(number), min(retry_after or 0, settings.LUMEN_WEBHOOK_BACKOFF_MAX_SECONDS))
        due = timezone.now() + timedelta(seconds=wait)
        _finish(delivery, WebhookDelivery.Status.PENDING, attempts=number, status_code=status_code, error=error, next_attempt_at=due)
        _enqueue(delivery.pk, even_inactive, eta=due)
    else:
        if status_code is not None and not error:
            error = f"HTTP {status_code}" + (" (not retried)" if not _retryable(status_code) else " (gave up)")
        _finish(delivery, WebhookDelivery.Status.FAILED, attempts=number, status_code=status_code, error=error)


def backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): base × 2^(attempt-1), capped."""
    return min(settings.LUMEN_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 1), settings.LUMEN_WEBHOOK_BACKOFF_MAX_SECONDS)


def _retryable(status_code: int | None) -> bool:
    # None: no answer at all (connection refused, reset, timeout, DNS).
    return status_code is None or status_code == 429 or status_code >= 500


def _finish(delivery: WebhookDelivery, status: str, *, attempts: int | None = None, status_code=None, error: str = "",
            next_attempt_at=None, delivered_at=None) -> None:
    changes = {"status": status, "claimed_at": None, "next_attempt_at": next_attempt_at, "last_error": error[:2000]}
    if attempts is not None:
        changes.update(attempts=attempts, last_status_code=status_code)
    if delivered_at is not None:
        changes["delivered_at"] = delivered_at
    WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.SENDING).update(**changes)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction: following it would let a receiver point our
    worker at another (internal) address."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(delivery: WebhookDelivery) -> tuple[int | None, str, str, float | None]:
    """(HTTP status or None, error text, start of the answer, Retry-After seconds or None)."""
    url = delivery.endpoint.url
    body = body_of(delivery)
    request = urllib.request.Request(url, data=body, method="POST", headers=headers_for(delivery, body, str(int(time.time()))))
    try:
        with _opener.open(request, timeout=settings.LUMEN_WEBHOOK_TIMEOUT) as response:
            return response.status, "", _excerpt(response), None
    except urllib.error.HTTPError as answer:
        retry_after = answer.headers.get("Retry-After", "")
        with answer:
            return answer.code, "", _excerpt(answer), float(retry_after) if retry_after.isdigit() else None
    except (urllib.error.URLError, OSError, ValueError) as exc:  # refused, reset, timeout, DNS, bad URL
        reason = getattr(exc, "reason", exc)
        return None, f"{type(reason).__name__}: {reason}"[:2000], "", None


def _excerpt(response) -> str:
    try:
        return response.read(RESPONSE_EXCERPT * 4).decode("utf-8", "replace")[:RESPONSE_EXCERPT]
    except (OSError, ValueError):
        return ""


def refused_address(url: str) -> str:
    """With LUMEN_WEBHOOK_BLOCK_PRIVATE_ADDRESSES on: why this URL's host may not be called (a
    loopback, private, link-local or reserved address), else ''. A defence in depth against
    SSRF behind the admin-only endpoints; an egress firewall is the real fence (docs/webhooks.md)."""
    if not settings.LUMEN_WEBHOOK_BLOCK_PRIVATE_ADDRESSES:
        return ""
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        return f"cannot resolve {parts.hostname}: {exc}"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return f"{parts.hostname} resolves to {address}, a non-public address (LUMEN_WEBHOOK_BLOCK_PRIVATE_ADDRESSES)"
    return ""


def sweep(*, now=None) -> int:
    """Re-queue deliveries whose task was lost: attempts overdue by a sweep interval, and attempts
    claimed by a worker that died (claimed longer ago than a timeout and a sweep interval).
    Returns how many were queued again."""
    now = now or timezone.now()
    late = now - timedelta(seconds=settings.LUMEN_WEBHOOK_SWEEP_SECONDS)
    stuck = late - timedelta(seconds=settings.LUMEN_WEBHOOK_TIMEOUT)
    WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SENDING, claimed_at__lt=stuck).update(
        status=WebhookDelivery.Status.PENDING, claimed_at=None, next_attempt_at=now,
        last_error="the worker making the attempt stopped; sent again (the receiver deduplicates on X-Lumen-Delivery)",
    )
    overdue = list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=late).values_list("pk", "event")[:1000]
    )
    for delivery_id, event in overdue:
        _enqueue(delivery_id, event == TEST)
    return len(overdue)


# --- Events of the archive --------------------------------------------------------------------


def study_received_payload(study) -> dict:
    """Minimal PHI: identifiers a RIS matches on, no name, birth date or description (docs/webhooks.md)."""
    base = settings.LUMEN_BASE_URL
    return {
        "study_instance_uid": study.study_instance_uid,
        "accession_number": study.accession_number,
        "patient_id": study.patient.patient_id,
        "issuer_of_patient_id": study.patient.issuer_of_patient_id,
        "modalities": study.modalities,
        "number_of_series": study.number_of_study_related_series,
        "number_of_instances": study.number_of_study_related_instances,
        "completed_at": study.completed_at,
        "url": base + reverse("study-detail", args=[study.study_instance_uid]),
        "api_url": base + reverse("api:study-detail", kwargs={"study_uid": study.study_instance_uid}),
    }


def on_study_completed(sender, study, **kwargs) -> None:
    """studies.signals.study_completed → "study.received". Runs inside the completion transaction;
    a savepoint keeps a failure here from undoing the completion for the other receivers."""
    try:
        with transaction.atomic():
            emit(STUDY_RECEIVED, study_received_payload(study))
    except Exception:
        logger.exception("study.received webhook for %s could not be recorded", study.study_instance_uid)
