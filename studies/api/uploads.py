"""REST endpoints of the web upload: create a job, send batches of files, complete, follow progress.

POST /api/uploads/                → 201, the new job's progress
POST /api/uploads/<id>/files      → 201, multipart: "file" parts (+ optional "path" fields, see below)
POST /api/uploads/<id>/complete   → 200, progress
GET  /api/uploads/<id>            → 200, progress; the per-file summary once done
A job belongs to its owner: anybody else gets 404, as for a missing job.
"""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import api_view
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.idempotency import idempotent
from studies import portal, uploads
from studies.api import schema
from studies.api.authentication import TokenOrBearerAuthentication


@extend_schema(
    request=None, parameters=[schema.IDEMPOTENCY_KEY],
    responses={201: schema.UploadProgressSerializer, **schema.errors(401, 403, 409, 422)},
)
@api_view(["POST"])
@idempotent
def upload_create(request):
    try:
        details = portal.clinical_details(request.data)  # reason for exam, referring physician, priority, for reading
    except uploads.UploadRefused as exc:
        raise exceptions.ParseError(str(exc)) from None
    job = uploads.upload_job_create(owner=request.user, **details)
    return Response(_progress(request, job), status=status.HTTP_201_CREATED)


@extend_schema(responses={200: schema.UploadProgressSerializer, **schema.errors(401, 404)})
@api_view(["GET"])
def upload_detail(request, job_id):
    job = uploads.upload_job_for(request.user, job_id)
    return Response(_progress(request, job))


@extend_schema(request=None, responses={200: schema.UploadProgressSerializer, **schema.errors(401, 404, 409)})
@api_view(["POST"])
def upload_complete(request, job_id):
    job = uploads.upload_complete(job=uploads.upload_job_for(request.user, job_id))
    return Response(_progress(request, job))


class UploadFiles(APIView):
    """One batch. Browsers drop folders from a part's file name, so the client may name each
    file part by its index ("0", "1", …) and send the relative paths as "path" fields in order."""

    parser_classes = [MultiPartParser]

    def initial(self, request, *args, **kwargs):
        # Authentication's CSRF check parses the body, so the job's byte limit is put in the
        # upload handlers before that: an oversized batch is refused while it streams in.
        uploads.spool_ready()
        user = request._request.user  # the session user; DRF authenticates the same session next
        if not user.is_authenticated:  # a RIS with a token (header only: reading it parses no body)
            user = (_token_user(request._request) or (user,))[0]
        self.quota = JobQuota(uploads.upload_room_for(user, kwargs["job_id"]))
        request._request.upload_handlers = [self.quota, *request._request.upload_handlers]
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc):
        # Django's own request limits (DATA_UPLOAD_MAX_NUMBER_FILES…) hit while parsing: say so in JSON.
        if isinstance(exc, (TooManyFilesSent, TooManyFieldsSent, RequestDataTooBig)):
            detail = f"Too much in one request: send at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files per batch."
            return Response({"detail": detail}, status=status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)

    @extend_schema(
        request={"multipart/form-data": schema.UploadBatchRequestSerializer},
        responses={201: schema.UploadBatchSerializer, **schema.errors(400, 401, 404, 409, 413)},
    )
    def post(self, request, job_id):
        job = uploads.upload_job_for(request.user, job_id)
        files = _named_files(request)  # parses the body, unless authentication already did
        try:
            if self.quota.exceeded:
                raise uploads.UploadTooLarge(uploads.too_large_message())
            if not files:
                raise uploads.UploadRefused('No files in this batch: send them as multipart "file" parts.')
            items = uploads.upload_receive_batch(job=job, files=files)
        except uploads.UploadRefused as exc:
            return Response({"detail": str(exc)}, status=exc.status_code)
        return Response({"received": len(items), **_progress(request, job)}, status=status.HTTP_201_CREATED)


class JobQuota(FileUploadHandler):
    """Counts the file bytes of a request as they stream in and stops at the job's remaining room.

    The rest of the body is read and thrown away (not written), so the client gets its 413.
    """

    def __init__(self, room: int):
        super().__init__()
        self.room = room
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.room:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (memory or temporary file) makes the file


def _token_user(django_request):
    try:
        return TokenOrBearerAuthentication().authenticate(django_request)
    except AuthenticationFailed:
        return None  # DRF's own authentication answers 401 next


def _named_files(request) -> list[tuple[str, object]]:
    files = request.FILES.getlist("file")
    paths = request.POST.getlist("path")
    named = []
    for uploaded in files:
        name = uploaded.name
        if name.isdigit() and int(name) < len(paths):
            name = paths[int(name)]
        named.append((name, uploaded))
    return named


def _progress(request, job) -> dict:
    progress = uploads.upload_progress(job=job, user=request.user)
    return {
        **progress,
        "url": reverse("api:upload-detail", args=[job.id]),
        "files_url": reverse("api:upload-files", args=[job.id]),
        "complete_url": reverse("api:upload-complete", args=[job.id]),
    }
