"""DICOMweb rendered and thumbnail resources of the Retrieve transaction (PS3.18 10.4), for
single frames: an adapter over ``studies.rendering``, like every other DICOMweb view.

    /studies/{study}/series/{series}/instances/{sop}/rendered            first frame
    /studies/{study}/series/{series}/instances/{sop}/frames/{n}/rendered one frame (from 1)
    /studies/{study}/series/{series}/instances/{sop}[/frames/{n}]/thumbnail
    /studies/{study}/series/{series}/thumbnail, /studies/{study}/thumbnail

Media type from the ``accept`` query parameter, else the Accept header (PS3.18 8.3.3.1):
image/jpeg (the default) or image/png, anything else 406. Rendering parameters (8.3.5.1):
``window=center,width,function``, ``quality``, ``viewport=vw,vh[,sx,sy,sw,sh]``; ``preset=``
is our extension. Not offered yet: multi-frame renderings (video, multipart) and the study
and series ``rendered`` resources, which Table 10.3-2 lists as mandatory.
"""
from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.cache import patch_vary_headers
from rest_framework.exceptions import NotAcceptable

from studies import rendering
from studies.api.rendering import REVALIDATE, ImageView, image_response
from studies.dicomweb.auth import DicomwebView
from studies.selectors import instance_for, study_for, visible_series

WILDCARDS = ("*/*", "image/*")


class DicomwebImageView(ImageView, DicomwebView):
    """The image answers of ImageView with DICOMweb's authentication (token, Basic or session;
    401 with a challenge) and error bodies."""

    # A frame number that is not a positive integer ≤ NumberOfFrames is a 400, as PS3.18 9.5.2
    # answers the same mistake in the URI service's frameNumber.
    error_status = {**ImageView.error_status, rendering.FrameOutOfRange: 400}

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        patch_vary_headers(response, ("Accept",))
        return response


def negotiated_media_type(request) -> str:
    """The ``accept`` query parameter wins over the Accept header (PS3.18 8.3.3.1)."""
    if "accept" in request.query_params:
        for token in request.query_params["accept"].split(","):
            media_type = token.split(";")[0].strip().lower()
            if media_type in rendering.MEDIA_TYPES:
                return media_type
            if media_type in WILDCARDS:
                return rendering.JPEG
    else:
        media_type = request._request.get_preferred_type(rendering.MEDIA_TYPES)
        if media_type is not None:
            return media_type
    raise NotAcceptable("rendered images are available as image/jpeg or image/png")


def single_frame(text: str) -> int:
    if "," in text or "%2C" in text.upper():
        raise rendering.InvalidParameter("a rendered frame request names exactly one frame")
    if not text.isdigit():
        raise rendering.InvalidParameter(f"a frame number is a positive integer, not {text!r}")
    return int(text)


class RenderedFrame(DicomwebImageView):
    """One frame of an instance, rendered (the Rendered Frames and Rendered Instance resources)."""

    def get(self, request, study_uid: str, series_uid: str, sop_uid: str, frames: str = "1"):
        frame = single_frame(frames)
        options = rendering.image_options(request.query_params, media_type=negotiated_media_type(request))
        instance = instance_for(request.user, study_uid, series_uid, sop_uid)
        return image_response(request, instance, frame, options)


class InstanceThumbnail(DicomwebImageView):
    """A small rendering of an instance, or of one of its frames."""

    def get(self, request, study_uid: str, series_uid: str, sop_uid: str, frames: str = "1"):
        frame = single_frame(frames)
        options = rendering.thumbnail_options(negotiated_media_type(request), request.query_params)
        instance = instance_for(request.user, study_uid, series_uid, sop_uid)
        return image_response(request, instance, frame, options, kind="thumbnail")


class SeriesThumbnail(DicomwebImageView):
    """The thumbnail of the middle image of the series in reading order."""

    def get(self, request, study_uid: str, series_uid: str):
        options = rendering.thumbnail_options(negotiated_media_type(request), request.query_params)
        series = get_object_or_404(visible_series(request.user), series_instance_uid=series_uid, study__study_instance_uid=study_uid)
        instance = rendering.representative_instance(series)
        return image_response(request, instance, 1, options, kind="series-thumbnail", cache_control=REVALIDATE)


class StudyThumbnail(DicomwebImageView):
    """The thumbnail of the study's first series that has images."""

    def get(self, request, study_uid: str):
        options = rendering.thumbnail_options(negotiated_media_type(request), request.query_params)
        instance = rendering.study_representative_instance(study_for(request.user, study_uid))
        return image_response(request, instance, 1, options, kind="study-thumbnail", cache_control=REVALIDATE)
