from django.urls import path

app_name = "dicomweb"
urlpatterns: list = []

# QIDO-RS, WADO-RS and STOW-RS (PS3.18 10.4-10.6; docs/dicomweb.md).
from studies.dicomweb import qido, stow, wado  # noqa: E402


class StudiesResource(qido.SearchForStudies, stow.StoreInstances):
    """GET /studies searches (QIDO-RS), POST /studies stores (STOW-RS)."""


class StudyResource(wado.RetrieveStudy, stow.StoreInstances):
    """GET /studies/{study} retrieves (WADO-RS), POST /studies/{study} stores into it (STOW-RS)."""


_study = "studies/<str:study_uid>"
_series = f"{_study}/series/<str:series_uid>"
_sop = f"{_series}/instances/<str:sop_uid>"
urlpatterns += [
    path("studies", StudiesResource.as_view(), name="studies"),
    path("series", qido.SearchForSeries.as_view(), name="search-series"),
    path("instances", qido.SearchForInstances.as_view(), name="search-instances"),
    path(_study, StudyResource.as_view(), name="study"),
    path(f"{_study}/metadata", wado.StudyMetadata.as_view(), name="study-metadata"),
    path(f"{_study}/series", qido.SearchForSeries.as_view(), name="study-series"),
    path(f"{_study}/instances", qido.SearchForInstances.as_view(), name="study-instances"),
    path(_series, wado.RetrieveSeries.as_view(), name="series"),
    path(f"{_series}/metadata", wado.SeriesMetadata.as_view(), name="series-metadata"),
    path(f"{_series}/instances", qido.SearchForInstances.as_view(), name="series-instances"),
    path(_sop, wado.RetrieveInstance.as_view(), name="instance"),
    path(f"{_sop}/metadata", wado.InstanceMetadata.as_view(), name="instance-metadata"),
    path(f"{_sop}/frames/<str:frames>", wado.RetrieveFrames.as_view(), name="frames"),
    path(f"{_sop}/bulkdata/<str:tag>", wado.RetrieveBulkdata.as_view(), name="bulkdata"),
]

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
