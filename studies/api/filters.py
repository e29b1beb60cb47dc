"""Query parameters of the archive lists. Matching is the study search's (studies/search.py):
DICOM wildcards ``*`` and ``?`` (PS3.4 C.2.2.2.4), names without their PN separators."""
from __future__ import annotations

import django_filters

from studies.models import Instance, Patient, Series, Study
from studies.search import MODALITY_RE, modality_in_study, name_matches, value_matches


class PatientFilter(django_filters.FilterSet):
    patient_name = django_filters.CharFilter(method="filter_name", label="Patient name; DICOM wildcards * and ?")
    patient_id = django_filters.CharFilter(method="filter_id", label="Patient ID, exact or with wildcards")
    patient_birth_date = django_filters.DateFilter()

    class Meta:
        model = Patient
        fields = ["patient_name", "patient_id", "patient_birth_date"]

    def filter_name(self, queryset, name, value):
        return queryset.filter(name_matches("patient_name_search", value))

    def filter_id(self, queryset, name, value):
        return queryset.filter(value_matches("patient_id", value))


class StudyFilter(django_filters.FilterSet):
    patient = django_filters.NumberFilter(field_name="patient_id", label="The patient's id in this API")
    patient_name = django_filters.CharFilter(method="filter_name", label="Patient name; DICOM wildcards * and ?")
    patient_id = django_filters.CharFilter(method="filter_patient_id", label="Patient ID, exact or with wildcards")
    study_date_from = django_filters.DateFilter(field_name="study_date", lookup_expr="gte", label="Study date on or after")
    study_date_to = django_filters.DateFilter(field_name="study_date", lookup_expr="lte", label="Study date on or before")
    modality = django_filters.CharFilter(method="filter_modality", label="A modality in the study (CT, MR…)")
    accession_number = django_filters.CharFilter(method="filter_accession", label="Accession number, exact or with wildcards")

    class Meta:
        model = Study
        fields = ["patient", "patient_name", "patient_id", "study_date_from", "study_date_to", "modality", "accession_number"]

    def filter_name(self, queryset, name, value):
        return queryset.filter(name_matches("patient__patient_name_search", value))

    def filter_patient_id(self, queryset, name, value):
        return queryset.filter(value_matches("patient__patient_id", value))

    def filter_modality(self, queryset, name, value):
        value = value.strip().upper()
        if not MODALITY_RE.match(value):
            return queryset.none()  # not a CS value (PS3.5 6.2): no study has it
        return queryset.filter(modality_in_study([value]))

    def filter_accession(self, queryset, name, value):
        return queryset.filter(value_matches("accession_number", value))


class SeriesFilter(django_filters.FilterSet):
    modality = django_filters.CharFilter(method="filter_modality")

    class Meta:
        model = Series
        fields = ["modality", "series_number"]

    def filter_modality(self, queryset, name, value):
        return queryset.filter(modality=value.strip().upper())


class InstanceFilter(django_filters.FilterSet):
    class Meta:
        model = Instance
        fields = ["sop_class_uid", "instance_number"]
