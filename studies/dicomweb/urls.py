from django.urls import path

app_name = "dicomweb"
urlpatterns: list = []

# Rendered and thumbnail resources, single frames (studies/dicomweb/rendered.py, PS3.18 9.5 / 9.6).
from studies.dicomweb import rendered  # noqa: E402

_instance = "studies/<str:study_uid>/series/<str:series_uid>/instances/<str:sop_uid>"
urlpatterns += [
    path(f"{_instance}/rendered", rendered.RenderedFrame.as_view(), name="rendered-instance"),
    path(f"{_instance}/frames/<str:frames>/rendered", rendered.RenderedFrame.as_view(), name="rendered-frame"),
    path(f"{_instance}/thumbnail", rendered.InstanceThumbnail.as_view(), name="thumbnail-instance"),
    path(f"{_instance}/frames/<str:frames>/thumbnail", rendered.InstanceThumbnail.as_view(), name="thumbnail-frame"),
    path("studies/<str:study_uid>/series/<str:series_uid>/thumbnail", rendered.SeriesThumbnail.as_view(), name="thumbnail-series"),
    path("studies/<str:study_uid>/thumbnail", rendered.StudyThumbnail.as_view(), name="thumbnail-study"),
]
