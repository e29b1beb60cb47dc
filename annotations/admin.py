from django.contrib import admin

from annotations.models import Annotation, KeyImage
from studies import selectors


class OnVisibleStudies:
    """Django admin lists only rows on studies the staff member may see (studies/selectors.py),
    and never lets anyone edit another person's measurements: view and delete only."""

    def get_queryset(self, request):
        return super().get_queryset(request).filter(study__in=selectors.visible_studies(request.user)).select_related(
            "user", "study", "instance"
        )

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
