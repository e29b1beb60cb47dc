"""The JSON shapes of the archive resources: field lists only, no logic (the viewsets query)."""
from __future__ import annotations

from rest_framework import serializers

from studies.models import Instance, Patient, Series, Study


class PatientSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:patient-detail")

    class Meta:
        model = Patient
        fields = ["id", "url", "patient_id", "issuer_of_patient_id", "patient_name", "patient_birth_date", "patient_sex"]


class StudySerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(
        view_name="api:study-detail", lookup_field="study_instance_uid", lookup_url_kwarg="study_uid"
    )
    series_url = serializers.HyperlinkedIdentityField(
        view_name="api:study-series-list", lookup_field="study_instance_uid", lookup_url_kwarg="study_uid"
    )
    patient = PatientSerializer(read_only=True)
    modalities = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Study
        fields = [
            "study_instance_uid", "url", "series_url", "patient", "study_date", "study_time", "study_description",
            "study_id", "accession_number", "referring_physician_name", "modalities",
            "number_of_study_related_series", "number_of_study_related_instances", "created_at", "last_received_at",
        ]


class SeriesSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(
        view_name="api:series-detail", lookup_field="series_instance_uid", lookup_url_kwarg="series_uid"
    )
    instances_url = serializers.HyperlinkedIdentityField(
        view_name="api:series-instances-list", lookup_field="series_instance_uid", lookup_url_kwarg="series_uid"
    )
    study_instance_uid = serializers.CharField(source="study.study_instance_uid", read_only=True)

    class Meta:
        model = Series
        fields = [
            "series_instance_uid", "url", "instances_url", "study_instance_uid", "modality", "series_number",
            "series_description", "body_part_examined", "series_date", "series_time",
            "number_of_series_related_instances", "created_at",
        ]


class InstanceSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(
        view_name="api:instance-detail", lookup_field="sop_instance_uid", lookup_url_kwarg="sop_uid"
    )
    series_instance_uid = serializers.CharField(source="series.series_instance_uid", read_only=True)
    study_instance_uid = serializers.CharField(source="series.study.study_instance_uid", read_only=True)

    class Meta:
        model = Instance
        fields = [
            "sop_instance_uid", "url", "sop_class_uid", "series_instance_uid", "study_instance_uid", "instance_number",
            "transfer_syntax_uid", "rows", "columns", "number_of_frames", "file_size", "received_at",
        ]
