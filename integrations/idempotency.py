"""``Idempotency-Key`` on POST: a retried request returns the first answer instead of a twin.

The client picks a unique key per operation (a UUID) and sends it again when it retries.
The first request's status and body are kept for ``TTL`` per (user, key); a retry with the
same method, path and body gets them back (header ``Idempotent-Replayed: true``), the same
key with another request is refused with 422, and a retry that arrives while the first is
still running gets 409. Only answers below 500 are kept: after a server error the client
may try again with the same key. (The pattern of pretix's and Stripe's APIs.)
"""
from __future__ import annotations

import functools
import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from integrations.models import IdempotencyRecord

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255
REPLAYED_HEADERS = ("Location",)


def idempotent(view):
    """Decorates a DRF function view (inside ``@api_view``): POSTs with the header become idempotent."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None or request.method != "POST":
            return view(request, *args, **kwargs)
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            return _refusal(400, f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters.", "invalid_idempotency_key")
        record, created = idempotency_claim(user=request.user, key=key, method=request.method,
                                            path=request.path, request_hash=request_hash(request))
        if not created:
            return _answer_for_retry(record, request_hash(request))
        try:
            response = view(request, *args, **kwargs)
        except BaseException:
            record.delete()  # nothing to replay: the retry runs again
            raise
        idempotency_finish(record=record, response=response)
        return response

    return wrapper


def request_hash(request) -> str:
    """What makes two requests "the same": method, path and the parsed body."""
    data = request.data
    if hasattr(data, "lists"):  # a QueryDict (form or multipart body)
        data = {name: values for name, values in data.lists()}
    body = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method}\n{request.path}\n{body}".encode()).hexdigest()


def idempotency_claim(*, user, key: str, method: str, path: str, request_hash: str) -> tuple[IdempotencyRecord, bool]:
    """The record of (user, key): a new one (True) that this request must finish, or the first request's."""
    fields = {"method": method, "path": path[:2048], "request_hash": request_hash}
    for _ in range(3):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(user=user, key=key, **fields), True
        except IntegrityError:
            pass  # another request holds the key; the database decided who was first
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record is None:
            continue  # the first request failed and let the key go: claim it again
        if record.created_at < timezone.now() - TTL:
            record.delete()  # an expired key is a new key
            continue
        return record, False
    raise RuntimeError("could not claim the idempotency key")  # pragma: no cover - three lost races in a row


def idempotency_finish(*, record: IdempotencyRecord, response) -> None:
    """Keeps the answer for the retries, or lets the key go after a server error."""
    if response.status_code >= 500:
        record.delete()
        return
    record.response_status = response.status_code
    record.response_body = getattr(response, "data", None)
    record.response_headers = {name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)}
    record.save(update_fields=["response_status", "response_body", "response_headers"])


def idempotency_purge(*, now=None) -> int:
    """Deletes the records past their TTL; returns how many."""
    cutoff = (now or timezone.now()) - TTL
    return IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()[0]


def _answer_for_retry(record: IdempotencyRecord, this_hash: str) -> Response:
    if record.request_hash != this_hash:
        return _refusal(
            422, f"This {HEADER} was already used for a different request; use a new key for a new request.",
            "idempotency_key_reused",
        )
    if record.response_status is None:
        return _refusal(409, f"A request with this {HEADER} is still being processed; retry later.", "idempotency_key_in_use")
    response = Response(record.response_body, status=record.response_status, headers=record.response_headers)
    response["Idempotent-Replayed"] = "true"
    return response


def _refusal(status_code: int, detail: str, code: str) -> Response:
    return Response({"detail": detail, "code": code}, status=status_code)
