"""Django admin: webhook endpoints (secret write-only) and the read-only delivery log."""
from django import forms
from django.contrib import admin, messages

from integrations import webhooks
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label="URL", max_length=2048, assume_scheme="https")
    secret = forms.CharField(
        required=False, min_length=16, max_length=256, strip=False, widget=forms.PasswordInput(render_value=False),
        help_text="Shared secret of the X-Lumen-Signature HMAC (at least 16 characters). Never shown again; "
        "leave empty to keep the current one.",
    )
    events = forms.MultipleChoiceField(choices=sorted(webhooks.EVENTS.items()), widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ["description", "url", "secret", "events", "active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("Only http:// and https:// URLs.")
        return url

    def clean_secret(self):
        secret = self.cleaned_data.get("secret")
        if not secret:
            if not self.instance.pk:
                raise forms.ValidationError("A new endpoint needs a secret.")
            return self.instance.secret
        return secret


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["__str__", "url", "events", "active", "created_by", "created_at"]
    list_filter = ["active"]
    actions = ["send_test_event"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Send a test event")
    def send_test_event(self, request, queryset):
        for endpoint in queryset:
            webhooks.endpoint_send_test(endpoint=endpoint, actor=request.user)
        messages.success(request, f"Test event queued for {queryset.count()} endpoint(s).")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["number", "started_at", "duration_ms", "status_code", "error", "response_excerpt"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The log: read it, never edit it."""

    list_display = ["created_at", "event", "endpoint", "status", "attempts", "last_status_code", "delivered_at"]
    list_filter = ["status", "event", "endpoint"]
    search_fields = ["=id", "=event_id"]
    readonly_fields = ["id", "endpoint", "event", "event_id", "payload", "status", "attempts", "next_attempt_at",
                       "claimed_at", "last_status_code", "last_error", "created_at", "delivered_at"]
    inlines = [WebhookAttemptInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
