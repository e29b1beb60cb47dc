from django.contrib import admin

from annotations.models import Annotation, KeyImage
from studies import selectors


class OnVisibleStudies:
    """Django admin lists only rows on studies the staff member may see (studies/selectors.py),
    only superusers see other people's, and nobody edits a measurement here: view and delete."""

    def get_queryset(self, request):
        rows = super().get_queryset(request).filter(study__in=selectors.visible_studies(request.user))
        if not request.user.is_superuser:  # a staff member granted the view permission: their own only
            rows = rows.filter(user=request.user)
        return rows.select_related("user", "study", "instance")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Annotation)
class AnnotationAdmin(OnVisibleStudies, admin.ModelAdmin):
    list_display = ("uid", "tool", "user", "study", "frame", "label", "updated_at")
    list_filter = ("tool",)
    search_fields = ("uid", "study__study_instance_uid", "user__username")


@admin.register(KeyImage)
class KeyImageAdmin(OnVisibleStudies, admin.ModelAdmin):
    list_display = ("id", "user", "study", "instance", "frame", "note", "created_at")
    search_fields = ("study__study_instance_uid", "user__username")
