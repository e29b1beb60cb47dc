"""The admin's webhooks page: endpoints, recent deliveries with each attempt, "send test event".
Admin role only (others 403, anonymous the login page). Endpoints are created and edited in
Django admin or through /api/webhooks/."""
from __future__ import annotations

from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.user_admin_views import admin_required
from integrations import webhooks
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

RECENT_DELIVERIES = 50


@admin_required
def webhook_list(request):
    endpoints = WebhookEndpoint.objects.select_related("created_by").order_by("id")
    deliveries = (
        WebhookDelivery.objects.select_related("endpoint")
        .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number")))
        .order_by("-created_at")[:RECENT_DELIVERIES]
    )
    return render(request, "integrations/webhooks.html", {"endpoints": endpoints, "deliveries": deliveries, "events": webhooks.EVENTS})


@admin_required
@require_POST
def webhook_send_test(request, endpoint_id):
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    delivery = webhooks.endpoint_send_test(endpoint=endpoint, actor=request.user)
    messages.success(request, f"Test event queued for {endpoint} (delivery {delivery.pk}).")
    return redirect("webhook-list")
