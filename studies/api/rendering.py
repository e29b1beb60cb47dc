"""Image endpoints of the REST API: one windowed frame, and a series thumbnail.

The views parse, look the instance up through ``studies.selectors`` (an invisible study
answers 404 exactly like a missing one) and hand over to ``studies.rendering``.
``ImageView`` is also the base of the DICOMweb rendered resources (studies/dicomweb/rendered.py).
"""
from __future__ import annotations

from django.http import HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404
from django.utils.cache import get_conditional_response
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import APIException, ParseError
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from audit import events as audit_events
from studies import caching, rendering
from studies.api import schema
from studies.models import Instance
from studies.selectors import instance_for, visible_series

# A series or study thumbnail shows whichever image is in the middle now, which moves while
# images arrive: cache briefly, then revalidate against the ETag.
REVALIDATE = "private, max-age=300"
FORMATS = {"jpeg": rendering.JPEG, "jpg": rendering.JPEG, "png": rendering.PNG}


class ImageView(APIView):
    """Session-authenticated (DRF defaults) image endpoint: answers are image bytes, errors JSON.

    DRF's content negotiation is bypassed: it would refuse ``Accept: image/*`` for lack of an
    image renderer and claim the ``format`` query parameter; each view picks its media type.
    DRF itself costs ~0.05 ms a request here (measured against a plain Django view doing the
    same work), next to ~1 ms for the lookup and ~2 ms for rendering, so these stay DRF views.
    """

    renderer_classes = [JSONRenderer]  # for error bodies only
    error_status = {
        rendering.InvalidParameter: 400,
        rendering.FrameOutOfRange: 404,  # no such frame resource
        rendering.NoPixelData: 404,
        # The request is fine but the archive cannot decode this file (e.g. 12-bit JPEG Extended):
        # not a server crash, so not a 500.
        rendering.CannotDecode: 422,
    }

    def perform_content_negotiation(self, request, force=False):
        return JSONRenderer(), JSONRenderer.media_type

    def handle_exception(self, exc):
        if isinstance(exc, rendering.RenderError):
            error = APIException(detail=str(exc))
            error.status_code = next(s for kind, s in self.error_status.items() if isinstance(exc, kind))
            exc = error
        return super().handle_exception(exc)


def image_response(
    request,
    instance: Instance,
    frame: int,
    options: rendering.ImageOptions,
    *,
    kind: str = "frame",
    cache_control: str | None = None,
) -> HttpResponse:
    """The rendered frame, or 304 when the client's If-None-Match already names it; cached as
    caching.stored_pixels() says unless ``cache_control`` says otherwise."""
    rendering.check_frame(instance, frame)  # a bad frame is an error even when revalidating
    etag = rendering.etag(instance, frame, options, kind)
    headers = {"ETag": etag, "Cache-Control": cache_control or caching.stored_pixels()}
    if isinstance(get_conditional_response(request, etag=etag), HttpResponseNotModified):
        audit_events.image_sent(request, instance, frame, kind, not_modified=True)
        return HttpResponseNotModified(headers=headers)
    body = rendering.render_frame(instance, frame, options)
    audit_events.image_sent(request, instance, frame, kind)
    return HttpResponse(body, content_type=options.media_type, headers=headers)


def media_type_from_format(params) -> str:
    try:
        return FORMATS[params.get("format", "jpeg").lower()]
    except KeyError:
        raise ParseError("format must be jpeg or png") from None


class FrameImage(ImageView):
    """``GET /api/studies/{study}/series/{series}/instances/{sop}/frames/{n}/image``

    Frame ``n`` (numbered from 1, as in DICOMweb) as an image. Query parameters:
    ``window=center,width[,linear|linear-exact|sigmoid]`` or ``preset=`` one of
    brain, subdural, stroke, lung, mediastinum, abdomen, liver, bone (default: the file's own
    window, else the frame's value range); ``format=jpeg|png`` (default jpeg); ``quality=1-100``;
    ``viewport=w,h``. Strong ETag, If-None-Match → 304, cached privately for a year (caching.stored_pixels).
    """

    @extend_schema(
        parameters=[OpenApiParameter(name, OpenApiTypes.STR) for name in ("window", "preset", "format", "quality", "viewport")],
        responses={(200, "image/*"): schema.IMAGE, 304: None, **schema.errors(400, 401, 404, 422)},
    )
    def get(self, request, study_uid: str, series_uid: str, sop_uid: str, frame: int):
        media_type = media_type_from_format(request.query_params)
        options = rendering.image_options(request.query_params, media_type=media_type)
        instance = instance_for(request.user, study_uid, series_uid, sop_uid)
        return image_response(request, instance, frame, options)


class SeriesThumbnail(ImageView):
    """``GET /api/studies/{study}/series/{series}/thumbnail[?format=jpeg|png]``

    The middle image of the series in reading order, at most 128 px on a side.
    """

    @extend_schema(
        parameters=[OpenApiParameter("format", OpenApiTypes.STR, enum=["jpeg", "png"])],
        responses={(200, "image/*"): schema.IMAGE, 304: None, **schema.errors(401, 404, 422)},
    )
    def get(self, request, study_uid: str, series_uid: str):
        options = rendering.thumbnail_options(media_type_from_format(request.query_params))
        series = get_object_or_404(visible_series(request.user), series_instance_uid=series_uid, study__study_instance_uid=study_uid)
        instance = rendering.representative_instance(series)
        return image_response(request, instance, 1, options, kind="series-thumbnail", cache_control=REVALIDATE)
