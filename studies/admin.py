from django.contrib import admin

from studies.models import Instance, Patient, Series, Study, UploadJob


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("patient_name", "patient_id", "issuer_of_patient_id", "patient_birth_date", "patient_sex")
    search_fields = ("patient_name", "patient_id")


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ("study_instance_uid", "patient", "study_date", "study_description", "modalities_in_study")
    search_fields = ("study_instance_uid", "accession_number", "study_description")
    raw_id_fields = ("patient",)


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    list_display = ("series_instance_uid", "modality", "series_number", "series_description")
    raw_id_fields = ("study",)


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = ("sop_instance_uid", "instance_number", "transfer_syntax_uid", "received_at", "calling_ae_title")
    raw_id_fields = ("series", "upload_job", "uploaded_by")
    exclude = ("dicom_json",)


@admin.register(UploadJob)
class UploadJobAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "status", "created_at", "finished_at")
