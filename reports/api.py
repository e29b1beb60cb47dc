"""REST resources of the reading workflow, for RIS integration (under /api/reports/).

GET /api/reports/                 filters: status, study (StudyInstanceUID), priority; ordering
GET /api/reports/<id>/            the report with its current signed text and addenda
GET /api/reports/<id>/versions/   its versions (signed ones; readers also see the draft)
GET /api/reports/<id>/pdf         the signed report as PDF
GET /api/reports/<id>/sr          the DICOM SR stored into the study (404 until it is stored)
GET /api/reports/<id>/fhir        a FHIR R4 DiagnosticReport
Every queryset starts from ``reports.selectors.visible_reports`` (the studies visibility rule).
"""
from __future__ import annotations

import django_filters
from django.conf import settings
from django.urls import reverse
from django.http import FileResponse, Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from audit import events as audit_events
from reports import selectors, workflow
from reports.documents import document_for
from reports.models import Report, ReportVersion
from reports.outputs.document import SECTIONS
from studies.api.base import VisibleViewSet
from studies.api.schema import ErrorSerializer
from studies.models import Instance
from studies.storage import dicom_storage


class VersionSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.get_username", read_only=True)
    sections = serializers.SerializerMethodField()

    class Meta:
        model = ReportVersion
        fields = ["number", "kind", "author", "created_at", "signed_at", "sections", "text", "critical", "critical_told", "critical_told_at"]

    def get_sections(self, version) -> dict[str, str]:
        return {name: version.section_text(name) for name, _ in SECTIONS} if version.kind != workflow.ADDENDUM else {}


class ReportSerializer(serializers.ModelSerializer):
    study_instance_uid = serializers.CharField(source="study.study_instance_uid", read_only=True)
    accession_number = serializers.CharField(source="study.accession_number", read_only=True)
    holder = serializers.CharField(source="holder.get_username", read_only=True, allow_null=True, default=None)
    final_by = serializers.CharField(source="final_by.get_username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Report
        fields = [
            "id", "status", "priority", "study_instance_uid", "accession_number", "clinical_question", "referring_physician",
            "holder", "final_by", "critical", "complete_at", "claimed_at", "final_at", "cancelled_at", "cancel_reason",
        ]


class ReportDetailSerializer(ReportSerializer):
    current = serializers.SerializerMethodField(help_text="the signed text now in force (preliminary or final), or null")
    addenda = serializers.SerializerMethodField()

    class Meta(ReportSerializer.Meta):
        fields = [*ReportSerializer.Meta.fields, "current", "addenda"]

    def _signed(self, report):
        if not hasattr(report, "_signed_cache"):
            report._signed_cache = list(selectors.signed_versions(report))
        return report._signed_cache

    def _base(self, report):
        return next((v for v in reversed(self._signed(report)) if v.kind != workflow.ADDENDUM), None)

    @extend_schema_field(VersionSerializer(allow_null=True))
    def get_current(self, report):
        base = self._base(report)
        return VersionSerializer(base).data if base else None

    @extend_schema_field(VersionSerializer(many=True))
    def get_addenda(self, report):
        base = self._base(report)
        return [VersionSerializer(v).data for v in self._signed(report) if v.kind == workflow.ADDENDUM and base and v.number > base.number]


class ReportFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Report.Status.choices)
    priority = django_filters.ChoiceFilter(choices=Report.Priority.choices)
    study = django_filters.CharFilter(field_name="study__study_instance_uid", label="StudyInstanceUID")

    class Meta:
        model = Report
        fields = ["status", "priority", "study"]


NOT_FOUND = OpenApiResponse(ErrorSerializer, description="no such report visible to you, or nothing signed / stored yet")


class ReportViewSet(VisibleViewSet):
    selector = staticmethod(selectors.visible_reports)
    related = ("study__patient", "holder", "final_by")
    serializer_class = ReportSerializer
    filterset_class = ReportFilter
    ordering_fields = ["complete_at", "final_at", "priority_rank", "id"]
    ordering = ["-complete_at", "-id"]

    def get_serializer_class(self):
        return ReportDetailSerializer if self.action == "retrieve" else ReportSerializer

    def retrieve(self, request, *args, **kwargs):
        report = self.get_object()
        audit_events.report_viewed(request, report, what="api")
        return Response(ReportDetailSerializer(report).data)

    @extend_schema(responses={200: VersionSerializer(many=True), 404: NOT_FOUND})
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request, pk=None):
        report = self.get_object()
        return Response(VersionSerializer(selectors.visible_versions(request.user, report), many=True).data)

    def _signed_document(self, request, what: str):
        report = self.get_object()
        version = selectors.latest_signed(report)
        if version is None:
            raise Http404("This report has no signed text yet")
        audit_events.report_viewed(request, report, what=what)
        return report, version

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY, 404: NOT_FOUND})
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        try:
            from reports.outputs.pdf import render_pdf
        except ImportError:
            raise Http404("PDF output is not installed") from None
        report, version = self._signed_document(request, "pdf")
        response = HttpResponse(render_pdf(document_for(version)), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="report-{report.pk}-v{version.number}.pdf"'
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(responses={(200, "application/dicom"): OpenApiTypes.BINARY, 404: NOT_FOUND})
    @action(detail=True, methods=["get"])
    def sr(self, request, pk=None):
        report = self.get_object()
        instance = (
            Instance.objects.filter(series__study_id=report.study_id, sop_instance_uid=report.sr_sop_instance_uid).first()
            if report.sr_sop_instance_uid
            else None
        )
        if instance is None:
            raise Http404("No SR is stored for this report yet")
        audit_events.report_viewed(request, report, what="sr")
        response = FileResponse(dicom_storage().open(instance.storage_key, "rb"), content_type="application/dicom")
        response["Content-Disposition"] = f'attachment; filename="{instance.sop_instance_uid}.dcm"'
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(responses={(200, "application/fhir+json"): OpenApiTypes.OBJECT, 404: NOT_FOUND})
    @action(detail=True, methods=["get"])
    def fhir(self, request, pk=None):
        try:
            from reports.outputs.fhir import diagnostic_report
        except ImportError:
            raise Http404("FHIR output is not installed") from None
        report, version = self._signed_document(request, "fhir")
        pdf_url = settings.LUMEN_BASE_URL + reverse("reports-api:report-pdf", args=[report.pk])
        resource = diagnostic_report(document_for(version, with_images=False), base_url=settings.LUMEN_BASE_URL, pdf_url=pdf_url)
        return Response(resource, content_type="application/fhir+json")
