"""Webhook endpoints through the REST API, for admins (the Admin role) only; everybody else 403.

GET/POST /api/webhooks/              GET/PUT/PATCH/DELETE /api/webhooks/<id>/
GET  /api/webhooks/<id>/deliveries/  the endpoint's last 50 deliveries with their attempts
POST /api/webhooks/<id>/test/        queue a "webhook.test" delivery to this endpoint (202)
``secret`` is write-only: it is set on create (or replaced by a PUT/PATCH), never returned.
"""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.roles import is_admin
from integrations import webhooks
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

RECENT_DELIVERIES = 50


class IsAdmin(permissions.BasePermission):
    message = "Only admins manage webhooks."

    def has_permission(self, request, view):
        return is_admin(request.user)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    url = serializers.URLField(max_length=2048, help_text="http(s) URL the events are POSTed to")
    secret = serializers.CharField(
        write_only=True, min_length=16, max_length=256, trim_whitespace=False,
        help_text="shared secret of the HMAC-SHA256 signature (X-Lumen-Signature); write-only",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(webhooks.EVENTS)), allow_empty=False, max_length=len(webhooks.EVENTS)
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "description", "url", "secret", "events", "active", "created_by", "created_at", "updated_at"]
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]

    def validate_url(self, value: str) -> str:
        if not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("Only http:// and https:// URLs.")
        return value

    def validate_events(self, value: list[str]) -> list[str]:
        return sorted(set(value))


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "started_at", "duration_ms", "status_code", "error"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event", "event_id", "status", "attempts", "next_attempt_at", "last_status_code", "last_error",
                  "created_at", "delivered_at", "payload", "attempt_log"]


class WebhookEndpointViewSet(viewsets.ModelViewSet):
    permission_classes = [permissions.IsAuthenticated, IsAdmin]
    serializer_class = WebhookEndpointSerializer
    queryset = WebhookEndpoint.objects.select_related("created_by").order_by("id")

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)

    @extend_schema(responses=WebhookDeliverySerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def deliveries(self, request, pk=None):
        endpoint = self.get_object()
        recent = endpoint.deliveries.prefetch_related("attempt_log").order_by("-created_at")[:RECENT_DELIVERIES]
        return Response(WebhookDeliverySerializer(recent, many=True).data)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = webhooks.endpoint_send_test(endpoint=self.get_object(), actor=request.user)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
