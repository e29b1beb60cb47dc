"""REST endpoints of "send to node".

POST /api/studies/<study uid>/send  {"node": id or AE title, "series": optional uid} → 202, the job
GET  /api/send-jobs/<id>            → 200, status, counts and one result per instance
A study the user may not see, and a job that is not theirs (unless staff), answer 404.
"""
from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from integrations.idempotency import idempotent
from studies import sending
from studies.api import schema


@extend_schema(
    request=schema.SendRequestSerializer, parameters=[schema.IDEMPOTENCY_KEY],
    responses={202: schema.SendJobSerializer, **schema.errors(400, 401, 403, 404, 409, 422)},
)
@api_view(["POST"])
@idempotent
def send_create(request, study_uid):
    try:
        series = str(request.data.get("series") or "").strip() or None
        job = sending.send_to_node(user=request.user, node=request.data.get("node"), study_uid=study_uid, series_uid=series)
    except sending.SendRefused as exc:
        return Response({"detail": str(exc)}, status=exc.status_code)
    url = reverse("api:send-job-detail", args=[job.pk])
    return Response({**sending.send_progress(job), "url": url}, status=status.HTTP_202_ACCEPTED, headers={"Location": url})


@extend_schema(responses={200: schema.SendJobSerializer, **schema.errors(401, 404)})
@api_view(["GET"])
def send_job_detail(request, job_id):
    job = sending.send_job_for(request.user, job_id)
    return Response({**sending.send_progress(job), "url": reverse("api:send-job-detail", args=[job.pk])})
