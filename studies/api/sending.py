"""REST endpoints of "send to node".

POST /api/studies/<study uid>/send  {"node": id or AE title, "series": optional uid} → 202, the job
GET  /api/send-jobs/<id>            → 200, status, counts and one result per instance
A study the user may not see, and a job that is not theirs (unless staff), answer 404.
"""
from __future__ import annotations

from django.urls import reverse
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from studies import sending


@api_view(["POST"])
def send_create(request, study_uid):
    try:
        series = str(request.data.get("series") or "").strip() or None
        job = sending.send_to_node(user=request.user, node=request.data.get("node"), study_uid=study_uid, series_uid=series)
    except sending.SendRefused as exc:
        return Response({"detail": str(exc)}, status=exc.status_code)
    url = reverse("api:send-job-detail", args=[job.pk])
    return Response({**sending.send_progress(job), "url": url}, status=status.HTTP_202_ACCEPTED, headers={"Location": url})


@api_view(["GET"])
def send_job_detail(request, job_id):
    job = sending.send_job_for(request.user, job_id)
    return Response({**sending.send_progress(job), "url": reverse("api:send-job-detail", args=[job.pk])})
