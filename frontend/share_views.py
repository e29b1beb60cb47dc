"""Sharing pages: the study's "Share" page (logged in) and the read-only link pages (no login).

The link pages resolve every object through studies/sharing.py, scoped to the one study of
the link; their image views authenticate nobody (no session, no token), so a link never
widens what a logged-in endpoint answers, and a logged-in session adds nothing to a link.
"""
from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from rest_framework.permissions import AllowAny

from frontend.views import WINDOW_PRESETS
from studies import rendering, sharing
from studies.api.rendering import ImageView, image_response, media_type_from_format
from studies.models import StudyAccess
from studies.ordering import ordered
from studies.selectors import study_for
from studies.storage import dicom_storage

LIFETIMES = {"1": timedelta(days=1), "7": timedelta(days=7), "30": timedelta(days=30)}


@login_required
@require_http_methods(["GET", "POST"])
def study_share(request, uid: str):
    study = study_for(request.user, uid)
    new_link_url = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "user":
                sharing.share_with_user(by=request.user, study_uid=uid, username=request.POST.get("username", "").strip())
                messages.success(request, "The study is shared.")
            elif action == "unshare":
                sharing.unshare_with_user(by=request.user, study_uid=uid, username=request.POST.get("username", ""))
                messages.success(request, "The share is withdrawn.")
            elif action == "link":
                lifetime = LIFETIMES.get(request.POST.get("days", ""), LIFETIMES["7"])
                _, token = sharing.create_link(
                    by=request.user, study_uid=uid, lifetime=lifetime, allow_download=request.POST.get("allow_download") == "on"
                )
                # Shown once, on this answer only: the server keeps only its hash.
                new_link_url = request.build_absolute_uri(reverse("shared-study", args=[token]))
            elif action == "revoke":
                link_id = request.POST.get("link", "")
                if link_id.isdigit() and sharing.revoke_link(by=request.user, link_id=int(link_id)):
                    messages.success(request, "The link no longer works.")
        except sharing.ShareRefused as exc:
            messages.error(request, str(exc))
        if new_link_url is None:
            return redirect("study-share", uid)
    shares = StudyAccess.objects.filter(study=study, reason=StudyAccess.Reason.SHARED).select_related("user", "granted_by")
    context = {"study": study, "shares": shares, "links": sharing.links_of(user=request.user, study=study), "new_link_url": new_link_url}
    return render(request, "frontend/study_share.html", context)


def shared_study(request, token: str):
    link = sharing.active_link(token)
    series = link.study.series.order_by(F("series_number").asc(nulls_last=True), "series_instance_uid")
    return render(request, "frontend/shared_study.html", {"link": link, "token": token, "study": link.study, "series_list": series})


def shared_series(request, token: str, series: str):
    link = sharing.active_link(token)
    series = sharing.link_series(link, series)
    instances = ordered(series.instances.all()).values(
        "sop_instance_uid", "instance_number", "number_of_frames", "slice_location",
        "slice_thickness", "pixel_spacing", "window_center", "window_width",
    )
    frame_url = reverse("shared-frame", args=[token, series.series_instance_uid, "SOPMARK", 987654321])
    config = {
        "frameUrl": frame_url.replace("SOPMARK", "{sop}").replace("987654321", "{frame}"),
        "presets": WINDOW_PRESETS,
        "instances": [
            {
                "sop": i["sop_instance_uid"], "number": i["instance_number"], "frames": i["number_of_frames"] or 1,
                "sliceLocation": i["slice_location"], "sliceThickness": i["slice_thickness"], "pixelSpacing": i["pixel_spacing"],
                "windowCenter": i["window_center"], "windowWidth": i["window_width"],
            }
            for i in instances
        ],
    }
    context = {"series": series, "study": series.study, "config": config, "token": token, "link": link}
    return render(request, "frontend/shared_series.html", context)


class LinkImageView(ImageView):
    # The link token is the only credential: no session, no API token is looked at.
    authentication_classes: list = []
    permission_classes = [AllowAny]


class SharedFrame(LinkImageView):
    def get(self, request, token: str, series: str, sop: str, frame: int):
        options = rendering.image_options(request.query_params, media_type=media_type_from_format(request.query_params))
        instance = sharing.link_instance(sharing.active_link(token), series, sop)
        # Revalidated, not immutable: the browser must ask again once the link is revoked.
        return image_response(request, instance, frame, options, cache_control="private, no-cache")


class SharedThumbnail(LinkImageView):
    def get(self, request, token: str, series: str):
        options = rendering.thumbnail_options(media_type_from_format(request.query_params))
        instance = rendering.representative_instance(sharing.link_series(sharing.active_link(token), series))
        return image_response(request, instance, 1, options, kind="series-thumbnail", cache_control="private, no-cache")




def shared_instance_file(request, token: str, series: str, sop: str):
    """The stored DICOM file of one instance, only when the link allows download."""
    link = sharing.active_link(token)
    if not link.allow_download:
        raise Http404("No such file")
    instance = sharing.link_instance(link, series, sop)
    response = FileResponse(dicom_storage().open(instance.storage_key, "rb"), content_type="application/dicom")
    response["Content-Disposition"] = f'attachment; filename="{instance.sop_instance_uid}.dcm"'
    response["Cache-Control"] = "private, no-store"
    return response
