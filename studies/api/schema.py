"""OpenAPI 3 schema of the REST API (drf-spectacular), served at /api/schema/ with its docs at /api/docs/."""
from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularSwaggerSplitView

API_PREFIX = "/api/"


def only_rest_api(endpoints):
    """The REST API only: DICOMweb (/dicomweb/) is specified by PS3.18, not by this schema."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(API_PREFIX)]


class TokenOrBearerScheme(OpenApiAuthenticationExtension):
    target_class = "studies.api.authentication.TokenOrBearerAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer <key>` (or `Token <key>`) with the key of an API token.",
        }


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI from our own static files (drf-spectacular-sidecar): it works offline, and its
    start-up script is a separate file, so a Content Security Policy of ``script-src 'self'`` allows it."""

    template_name = "integrations/api_docs.html"
    url_name = "api:schema"
    title = "Lumen PACS REST API"


# --- Shapes of the answers built by the services (studies/uploads.py, studies/sending.py),
# written down for the schema only: the views return the services' dicts as they are.

from drf_spectacular.types import OpenApiTypes  # noqa: E402
from drf_spectacular.utils import (  # noqa: E402
    OpenApiParameter,
    OpenApiResponse,
    inline_serializer,
)
from rest_framework import serializers  # noqa: E402

from studies.models import SendJob, UploadJob  # noqa: E402

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="A unique key per operation (a UUID). A retry with the same key returns the first answer "
    "(header `Idempotent-Replayed: true`); the same key with another request answers 422; "
    "while the first request still runs, 409. Kept 24 hours.",
)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


class UploadProgressSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=UploadJob.Status.choices)
    upload_complete = serializers.BooleanField()
    bytes_received = serializers.IntegerField()
    max_bytes = serializers.IntegerField()
    files = inline_serializer("UploadFileTotals", {"total": serializers.IntegerField(), "done": serializers.IntegerField()})
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="items per status")
    zips_expanded = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    items = inline_serializer(
        "UploadItemOutcome",
        {
            "name": serializers.CharField(),
            "status": serializers.CharField(),
            "reason": serializers.CharField(),
            "study_instance_uid": serializers.CharField(),
        },
        many=True,
        required=False,
        help_text="once done: what became of each file",
    )
    studies = inline_serializer(
        "UploadStudy",
        {
            "study_instance_uid": serializers.CharField(),
            "description": serializers.CharField(),
            "patient_name": serializers.CharField(),
            "study_date": serializers.DateField(allow_null=True),
            "url": serializers.CharField(),
        },
        many=True,
        required=False,
        help_text="once done: the visible studies the upload went into",
    )
    url = serializers.CharField()
    files_url = serializers.CharField()
    complete_url = serializers.CharField()


class UploadBatchSerializer(UploadProgressSerializer):
    received = serializers.IntegerField()


class UploadBatchRequestSerializer(serializers.Serializer):
    file = serializers.ListField(child=serializers.FileField(), help_text="the files (or ZIPs) of this batch")
    path = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="relative paths of parts named by their index"
    )


class SendRequestSerializer(serializers.Serializer):
    node = serializers.CharField(help_text="the remote node's id or AE title")
    series = serializers.CharField(required=False, help_text="one SeriesInstanceUID, to send only that series")


class SendJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=SendJob.Status.choices)
    node = inline_serializer(
        "SendNode",
        {"id": serializers.IntegerField(), "ae_title": serializers.CharField(), "host": serializers.CharField(),
         "port": serializers.IntegerField()},
    )
    study_instance_uid = serializers.CharField()
    series_instance_uid = serializers.CharField(allow_null=True)
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    completed = serializers.IntegerField()
    warning = serializers.IntegerField()
    failed = serializers.IntegerField()
    error = serializers.CharField()
    results = serializers.ListField(child=serializers.DictField())
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    url = serializers.CharField()


def errors(*statuses: int) -> dict:
    return {status: OpenApiResponse(ErrorSerializer) for status in statuses}


IMAGE = OpenApiResponse(OpenApiTypes.BINARY, description="image/jpeg or image/png")
