import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class IdempotencyRecord(models.Model):
    """The first answer to a POST sent with an ``Idempotency-Key`` header, replayed to its retries.

    The unique (user, key) constraint is what makes two concurrent requests with one key create
    one object: the second insert fails and that request waits for, or replays, the first.
    ``response_status`` stays null while the first request is still running.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2048)
    # SHA-256 of method, path and body: the same key with another request is a client bug (422).
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_idempotency_record_per_user_and_key")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


# --- Webhooks (integrations/webhooks.py): outgoing, HMAC-signed event notifications to a RIS.


class WebhookEndpoint(models.Model):
    """Where a RIS wants events POSTed. Admins only create these (the URL is fetched by our
    workers: see docs/webhooks.md on SSRF). ``secret`` signs every delivery; it is never shown back."""

    description = models.CharField(max_length=200, blank=True)
    url = models.URLField("URL", max_length=2048)
    secret = models.CharField(max_length=256)
    # Event names (webhooks.EVENTS) this endpoint wants.
    events = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.description or self.url

    def wants(self, event: str) -> bool:
        return self.active and event in self.events


class WebhookDelivery(models.Model):
    """One event for one endpoint: the delivery log. Its id is the ``X-Lumen-Delivery`` header and
    stays the same on every retry, so a receiver can deduplicate."""

    class Status(models.TextChoices):
        PENDING = "pending"  # waiting for its (next) attempt at next_attempt_at
        SENDING = "sending"  # an attempt is running (claimed by a worker at claimed_at)
        SUCCEEDED = "succeeded"
        FAILED = "failed"  # gave up: a 4xx other than 429, max attempts, or the endpoint was deactivated

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=64)
    # One event sent to several endpoints: one event id, one delivery each.
    event_id = models.UUIDField(db_index=True)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField("last HTTP status", null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        # The sweeper looks for pending deliveries whose attempt is overdue.
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint} ({self.status})"


class WebhookAttempt(models.Model):
    """One POST of a delivery and what came of it."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField("HTTP status", null=True, blank=True)
    error = models.TextField(blank=True)
    # The start of the receiver's answer, for the admin troubleshooting it (never shown to others).
    response_excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="one_webhook_attempt_per_number")]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.status_code or self.error}"
