"""Read-only REST resources of the archive for RIS integration.

GET /api/patients/                      GET /api/patients/<id>/
GET /api/studies/                       GET /api/studies/<StudyInstanceUID>/
GET /api/studies/<uid>/series/          GET /api/series/<SeriesInstanceUID>/
GET /api/series/<uid>/instances/        GET /api/instances/<SOPInstanceUID>/
Lists take filters (see filters.py), ``ordering`` and ``limit``/``offset``. Every queryset
starts from the visibility selectors (base.py); the images themselves are in DICOMweb.
"""
from __future__ import annotations

from django.db.models import Exists, F, OuterRef
from django.shortcuts import get_object_or_404

from studies import selectors
from studies.api import filters
from studies.api.base import VisibleViewSet
from studies.api.serializers import (
    InstanceSerializer,
    PatientSerializer,
    SeriesSerializer,
    StudySerializer,
)
from studies.models import Patient
from studies.ordering import INSTANCE_ORDER
from studies.search import STUDY_ORDER


def visible_patients(user):
    """The patients of the studies ``user`` may see."""
    studies = selectors.visible_studies(user).filter(patient=OuterRef("pk"))
    return Patient.objects.filter(Exists(studies))


class PatientViewSet(VisibleViewSet):
    selector = staticmethod(visible_patients)
    serializer_class = PatientSerializer
    filterset_class = filters.PatientFilter
    ordering_fields = ["patient_name", "patient_id", "patient_birth_date", "created_at", "id"]
    ordering = ["patient_name_search", "id"]


class StudyViewSet(VisibleViewSet):
    selector = staticmethod(selectors.visible_studies)
    related = ("patient",)
    serializer_class = StudySerializer
    filterset_class = filters.StudyFilter
    lookup_field = "study_instance_uid"
    lookup_url_kwarg = "study_uid"
    ordering_fields = ["study_date", "accession_number", "created_at", "last_received_at", "patient__patient_name"]
    ordering = list(STUDY_ORDER)


class SeriesViewSet(VisibleViewSet):
    selector = staticmethod(selectors.visible_series)
    related = ("study",)
    serializer_class = SeriesSerializer
    filterset_class = filters.SeriesFilter
    lookup_field = "series_instance_uid"
    lookup_url_kwarg = "series_uid"
    ordering_fields = ["series_number", "modality", "series_date", "created_at"]
    ordering = [F("series_number").asc(nulls_last=True), "id"]


class StudySeriesViewSet(SeriesViewSet):
    """The series of one visible study."""

    def narrow(self, queryset):
        study = selectors.study_for(self.request.user, self.kwargs["study_uid"])
        return queryset.filter(study=study)


class InstanceViewSet(VisibleViewSet):
    selector = staticmethod(selectors.visible_instances)
    related = ("series__study",)
    deferred = ("dicom_json",)  # the header JSON is the row's bulk; DICOMweb metadata serves it
    serializer_class = InstanceSerializer
    filterset_class = filters.InstanceFilter
    lookup_field = "sop_instance_uid"
    lookup_url_kwarg = "sop_uid"
    ordering_fields = ["instance_number", "received_at"]
    ordering = list(INSTANCE_ORDER)  # reading order (studies/ordering.py)


class SeriesInstancesViewSet(InstanceViewSet):
    """The instances of one visible series, in reading order."""

    def narrow(self, queryset):
        series = get_object_or_404(selectors.visible_series(self.request.user), series_instance_uid=self.kwargs["series_uid"])
        return queryset.filter(series=series)
