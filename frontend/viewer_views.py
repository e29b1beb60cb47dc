"""The diagnostic viewer page: a shell whose script (built from frontend/src by Vite) reads the
archive through DICOMweb and saves measurements through the annotations API (docs/viewer.md)."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse

from audit import events as audit_events
from studies.models import Study
from studies.selectors import study_for

# The main study plus up to three more of the same patient (?compare=uid2,uid3,uid4).
MAX_STUDIES = 4


@login_required
@audit_events.denied_on_404("uid")
def viewer(request, uid: str):
    study = study_for(request.user, uid)
    studies = [study, *_compared_studies(request, study)]
    for each in studies:
        audit_events.study_viewed(request, each)
    return render(request, "frontend/viewer.html", {"study": study, "config": viewer_config(request, studies)})


def _compared_studies(request, study: Study) -> list[Study]:
    """The ?compare= studies: visible ones of the same patient, else 404 as for an unknown UID."""
    uids = [u for u in request.GET.get("compare", "").split(",") if u and u != study.study_instance_uid]
    if len(uids) > MAX_STUDIES - 1:
        raise Http404("At most four studies side by side")
    compared = []
    for uid in dict.fromkeys(uids):
        try:
            other = study_for(request.user, uid)
        except Http404:
            audit_events.access_denied(request, study_uid=uid)
            raise
        if other.patient_id != study.patient_id:
            raise Http404("Studies of another patient cannot be compared")
        compared.append(other)
    return compared


def viewer_config(request, studies: list[Study]) -> dict:
    """What the viewer script needs, injected with json_script: where DICOMweb and the
    annotations API live, which studies to open, who reads, and the CSRF token for writes."""
    user = request.user
    return {
        "dicomwebRoot": reverse("dicomweb:studies").removesuffix("/studies"),
        "studies": [
            {
                "studyInstanceUID": s.study_instance_uid,
                "annotationsUrl": reverse("annotations:annotation-list", args=[s.study_instance_uid]),
                "keyImagesUrl": reverse("annotations:key-image-list", args=[s.study_instance_uid]),
            }
            for s in studies
        ],
        "user": {"username": user.get_username(), "name": user.get_full_name() or user.get_username()},
        "csrfToken": get_token(request),
        "studyUrl": reverse("study-detail", args=[studies[0].study_instance_uid]),
    }
