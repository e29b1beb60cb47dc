from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is searched at /audit/ and never edited."""

    list_display = ("occurred_at", "event", "action", "outcome", "username", "calling_ae", "ip", "study_uid")
    list_filter = ("event", "action", "outcome")
    search_fields = ("username", "calling_ae", "study_uid", "patient_id")
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
