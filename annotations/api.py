"""REST endpoints of saved measurements/annotations and key images, per study and person.

GET    /api/studies/<study uid>/annotations/         → 200, all of my annotations on the study (a plain list)
POST   /api/studies/<study uid>/annotations/         → 201, created; 409 if I already used the uid here
GET    /api/studies/<study uid>/annotations/<uid>/   → 200
PUT    /api/studies/<study uid>/annotations/<uid>/   → 200 replaced, or 201 created (an upsert)
DELETE /api/studies/<study uid>/annotations/<uid>/   → 204
GET    /api/studies/<study uid>/key-images/          → 200, my key images in series and reading order
POST   /api/studies/<study uid>/key-images/          → 201 marked, or 200 with the existing mark (no twins)
GET    /api/studies/<study uid>/key-images/<id>/     → 200
DELETE /api/studies/<study uid>/key-images/<id>/     → 204

A study the user may not see answers 404 exactly like one that does not exist (and the
denial is audited); another person's annotation or key image is 404 too.
"""
from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import selectors, services
from annotations.parsers import BoundedJSONParser
from annotations.serializers import AnnotationPutSerializer, AnnotationSerializer, KeyImageSerializer
from integrations.idempotency import idempotent
from studies.api import schema
from studies.selectors import study_for


class StudyScopedView(APIView):
    """Finds the visible study of the URL and turns service refusals into API errors."""

    parser_classes = [BoundedJSONParser]

    def study(self):
        study_uid = self.kwargs["study_uid"]
        if "\x00" in study_uid:  # PostgreSQL cannot even compare it (a 500): no such study
            raise Http404("No such study")
        return study_for(self.request.user, study_uid)

    def handle_exception(self, exc):
        # A 404 for a study that exists but is not visible is audited by the API's exception
        # handler (studies/api/errors.py), as on every /api/ route.
        if isinstance(exc, services.Refused):
            if exc.field:
                exc = ValidationError({exc.field: [exc.message]})
            else:
                return Response({"detail": exc.message, "code": exc.code}, status=exc.status)
        return super().handle_exception(exc)

    def validated(self, serializer_class, data) -> dict:
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def answer(self, serializer_class, row, status_code=status.HTTP_200_OK, *, location: bool = False) -> Response:
        body = serializer_class(row, context={"request": self.request}).data
        headers = {"Location": body["url"]} if location else None
        return Response(body, status=status_code, headers=headers)


def _annotation_args(values: dict) -> dict:
    return {"uid": values["uid"], "tool": values["tool"], "series_uid": values["series_instance_uid"],
            "sop_uid": values["sop_instance_uid"], "frame": values["frame"], "data": values["data"], "label": values["label"]}


class AnnotationList(StudyScopedView):
    @extend_schema(
        summary="My annotations on a study",
        description="All of the caller's annotations on the study, oldest first, in one unpaginated list "
        "(the viewer draws them all when the study opens; at most 2,000 per person and study).",
        responses={200: AnnotationSerializer(many=True), **schema.errors(401, 404)},
    )
    def get(self, request, study_uid):
        rows = selectors.annotations_of(request.user, self.study())
        return Response(AnnotationSerializer(rows, many=True, context={"request": request}).data)

    @extend_schema(
        summary="Save a new annotation",
        request=AnnotationSerializer, parameters=[schema.IDEMPOTENCY_KEY],
        responses={201: AnnotationSerializer, **schema.errors(400, 401, 404, 409, 413)},
    )
    @method_decorator(idempotent)
    def post(self, request, study_uid):
        study = self.study()  # 404 before 400: the visibility rule first
        values = self.validated(AnnotationSerializer, request.data)
        annotation = services.annotation_create(user=request.user, study=study, **_annotation_args(values))
        return self.answer(AnnotationSerializer, annotation, status.HTTP_201_CREATED, location=True)


class AnnotationDetail(StudyScopedView):
    @extend_schema(summary="One of my annotations", responses={200: AnnotationSerializer, **schema.errors(401, 404)})
    def get(self, request, study_uid, uid):
        return self.answer(AnnotationSerializer, selectors.annotation_for(request.user, self.study(), uid))

    @extend_schema(
        summary="Create or replace one of my annotations (upsert)",
        request=AnnotationPutSerializer,
        responses={200: AnnotationSerializer, 201: AnnotationSerializer, **schema.errors(400, 401, 404, 409, 413)},
    )
    def put(self, request, study_uid, uid):
        study = self.study()
        body = request.data
        if isinstance(body, dict):
            if body.get("uid", uid) != uid:
                raise ValidationError({"uid": ["Must equal the annotation UID in the URL."]})
            body = {**body, "uid": uid}
        values = self.validated(AnnotationSerializer, body)
        annotation, created = services.annotation_put(user=request.user, study=study, **_annotation_args(values))
        return self.answer(AnnotationSerializer, annotation, status.HTTP_201_CREATED if created else status.HTTP_200_OK, location=created)

    @extend_schema(summary="Delete one of my annotations", responses={204: None, **schema.errors(401, 404)})
    def delete(self, request, study_uid, uid):
        services.annotation_delete(annotation=selectors.annotation_for(request.user, self.study(), uid))
        return Response(status=status.HTTP_204_NO_CONTENT)


class KeyImageList(StudyScopedView):
    @extend_schema(
        summary="My key images of a study",
        description="The caller's key images, in series and reading order, in one unpaginated list.",
        responses={200: KeyImageSerializer(many=True), **schema.errors(401, 404)},
    )
    def get(self, request, study_uid):
        rows = selectors.key_images(request.user, self.study())
        return Response(KeyImageSerializer(rows, many=True, context={"request": request}).data)

    @extend_schema(
        summary="Mark a frame as a key image",
        description="Marking a frame already marked returns that mark (200), with its note replaced by a non-empty new one.",
        request=KeyImageSerializer, parameters=[schema.IDEMPOTENCY_KEY],
        responses={201: KeyImageSerializer, 200: KeyImageSerializer, **schema.errors(400, 401, 404, 409, 413)},
    )
    @method_decorator(idempotent)
    def post(self, request, study_uid):
        study = self.study()
        values = self.validated(KeyImageSerializer, request.data)
        key_image, created = services.key_image_mark(
            user=request.user, study=study, series_uid=values["series_instance_uid"],
            sop_uid=values["sop_instance_uid"], frame=values["frame"], note=values["note"],
        )
        return self.answer(KeyImageSerializer, key_image, status.HTTP_201_CREATED if created else status.HTTP_200_OK, location=created)


class KeyImageDetail(StudyScopedView):
    @extend_schema(summary="One of my key images", responses={200: KeyImageSerializer, **schema.errors(401, 404)})
    def get(self, request, study_uid, key_image_id):
        return self.answer(KeyImageSerializer, selectors.key_image_for(request.user, self.study(), key_image_id))

    @extend_schema(summary="Unmark a key image", responses={204: None, **schema.errors(401, 404)})
    def delete(self, request, study_uid, key_image_id):
        services.key_image_unmark(key_image=selectors.key_image_for(request.user, self.study(), key_image_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
