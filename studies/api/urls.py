from django.urls import path

from studies.api import uploads

app_name = "api"
urlpatterns: list = []

# Web upload (studies/api/uploads.py).
urlpatterns += [
    path("uploads/", uploads.upload_create, name="upload-list"),
    path("uploads/<uuid:job_id>", uploads.upload_detail, name="upload-detail"),
    path("uploads/<uuid:job_id>/files", uploads.UploadFiles.as_view(), name="upload-files"),
    path("uploads/<uuid:job_id>/complete", uploads.upload_complete, name="upload-complete"),
]
