from django.contrib import admin

from studies import selectors
from studies.models import Instance, Patient, Series, Study, UploadJob


class VisibleOnly:
    """Django admin lists through the visibility rule too: a staff radiologist's view permission
    must not open every study (only admins see all; studies/selectors.py)."""

    selector = None

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=type(self).selector(request.user).values("pk"))


@admin.register(Patient)
class PatientAdmin(VisibleOnly, admin.ModelAdmin):
    selector = staticmethod(lambda user: Patient.objects.filter(studies__in=selectors.visible_studies(user)))
    list_display = ("patient_name", "patient_id", "issuer_of_patient_id", "patient_birth_date", "patient_sex")
    search_fields = ("patient_name", "patient_id")


@admin.register(Study)
class StudyAdmin(VisibleOnly, admin.ModelAdmin):
    selector = staticmethod(selectors.visible_studies)
    list_display = ("study_instance_uid", "patient", "study_date", "study_description", "modalities_in_study")
    search_fields = ("study_instance_uid", "accession_number", "study_description")
    raw_id_fields = ("patient",)


@admin.register(Series)
class SeriesAdmin(VisibleOnly, admin.ModelAdmin):
    selector = staticmethod(selectors.visible_series)
    list_display = ("series_instance_uid", "modality", "series_number", "series_description")
    raw_id_fields = ("study",)


@admin.register(Instance)
class InstanceAdmin(VisibleOnly, admin.ModelAdmin):
    selector = staticmethod(selectors.visible_instances)
    list_display = ("sop_instance_uid", "instance_number", "transfer_syntax_uid", "received_at", "calling_ae_title")
    raw_id_fields = ("series", "upload_job", "uploaded_by")
    exclude = ("dicom_json",)


@admin.register(UploadJob)
class UploadJobAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "status", "created_at", "finished_at")


# Remote DICOM nodes (studies/dimse/nodes.py): who may query/retrieve/store, where we may send.
from django.contrib import messages  # noqa: E402

from studies.dimse import nodes as dimse_nodes  # noqa: E402
from studies.models import RemoteNode, SendJob  # noqa: E402


@admin.register(RemoteNode)
class RemoteNodeAdmin(admin.ModelAdmin):
    list_display = ("ae_title", "host", "port", "description", "may_store", "may_query", "may_retrieve", "is_move_destination")
    search_fields = ("ae_title", "host", "description")
    actions = ["test_connection"]

    @admin.action(description="Test connection (C-ECHO)")
    def test_connection(self, request, queryset):
        for node in queryset:
            result = dimse_nodes.echo(node)
            self.message_user(request, result.message, messages.SUCCESS if result.ok else messages.ERROR)


@admin.register(SendJob)
class SendJobAdmin(admin.ModelAdmin):
    list_display = ("id", "node", "study_instance_uid", "status", "total", "completed", "failed", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("node", "requested_by")
