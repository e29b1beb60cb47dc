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

# Rendered images (studies/api/rendering.py).
from studies.api import rendering as rendering_views  # noqa: E402

urlpatterns += [
    path(
        "studies/<str:study_uid>/series/<str:series_uid>/instances/<str:sop_uid>/frames/<int:frame>/image",
        rendering_views.FrameImage.as_view(),
        name="frame-image",
    ),
    path("studies/<str:study_uid>/series/<str:series_uid>/thumbnail", rendering_views.SeriesThumbnail.as_view(), name="series-thumbnail"),
]

# Send to node (studies/api/sending.py).
from studies.api import sending as sending_views  # noqa: E402

urlpatterns += [
    path("studies/<str:study_uid>/send", sending_views.send_create, name="study-send"),
    path("send-jobs/<int:job_id>", sending_views.send_job_detail, name="send-job-detail"),
]

# Archive resources for RIS integration (studies/api/resources.py), schema and docs.
from drf_spectacular.views import SpectacularAPIView  # noqa: E402
from rest_framework.routers import SimpleRouter  # noqa: E402

from studies.api import resources  # noqa: E402
from studies.api import users as users_api  # noqa: E402
from studies.api.schema import ApiDocsView  # noqa: E402

router = SimpleRouter()
router.register("patients", resources.PatientViewSet, basename="patient")
router.register("studies", resources.StudyViewSet, basename="study")
router.register("series", resources.SeriesViewSet, basename="series")
router.register("instances", resources.InstanceViewSet, basename="instance")
router.register("users", users_api.UserViewSet, basename="user")  # admins only (studies/api/users.py)
urlpatterns += [
    path("studies/<str:study_uid>/series/", resources.StudySeriesViewSet.as_view({"get": "list"}), name="study-series-list"),
    path(
        "series/<str:series_uid>/instances/",
        resources.SeriesInstancesViewSet.as_view({"get": "list"}),
        name="series-instances-list",
    ),
    *router.urls,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(), name="docs"),
]
