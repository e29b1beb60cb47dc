"""Mounted under /api/ (pacs/urls.py) next to the archive resources of studies/api/urls.py."""
from django.urls import path, re_path

from annotations import api

app_name = "annotations"

STUDY = r"^studies/(?P<study_uid>[^/]+)"
urlpatterns = [
    path("studies/<str:study_uid>/annotations/", api.AnnotationList.as_view(), name="annotation-list"),
    # The UID rule in the path: a malformed UID is no annotation (404 before the view).
    re_path(STUDY + r"/annotations/(?P<uid>[A-Za-z0-9._-]{1,64})/$", api.AnnotationDetail.as_view(), name="annotation-detail"),
    path("studies/<str:study_uid>/key-images/", api.KeyImageList.as_view(), name="key-image-list"),
    path("studies/<str:study_uid>/key-images/<int:key_image_id>/", api.KeyImageDetail.as_view(), name="key-image-detail"),
]
