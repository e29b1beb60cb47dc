"""Django admin: global report templates and text macros are kept here by admins; reports and
notifications are shown read-only (their changes go through reports.services)."""
from django.contrib import admin

from reports.models import Notification, Report, ReportTemplate, TextMacro


@admin.register(ReportTemplate)
class ReportTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "modality", "body_part", "owner")
    list_filter = ("modality",)
    search_fields = ("name", "body_part")


@admin.register(TextMacro)
class TextMacroAdmin(admin.ModelAdmin):
    list_display = ("name", "owner")
    search_fields = ("name", "text")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "priority", "holder", "complete_at", "final_at")
    list_filter = ("status", "priority")

    def get_queryset(self, request):
        # The visibility rule, as everywhere else (an admin's role sees every study).
        from reports.selectors import visible_reports

        return visible_reports(request.user)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("recipient", "kind", "created_at", "read_at")
