"""The JSON shapes of annotations and key images: fields only (services.py decides)."""
from __future__ import annotations

from django.core.validators import RegexValidator
from django.urls import reverse
from rest_framework import serializers

from annotations.models import MAX_FRAME, TOOLS, UID_PATTERN, Annotation, KeyImage

UID_RULE = "1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-' (Cornerstone's annotationUID)."


def _absolute(context, path: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


class AnnotationSerializer(serializers.ModelSerializer):
    uid = serializers.CharField(max_length=64, validators=[RegexValidator(UID_PATTERN, UID_RULE)], help_text=UID_RULE)
    tool = serializers.ChoiceField(
        choices=TOOLS,
        help_text="the Cornerstone3D tool name",
        error_messages={"invalid_choice": f'Unknown tool "{{input}}". Allowed: {", ".join(TOOLS)}.'},
    )
    study_instance_uid = serializers.CharField(source="study.study_instance_uid", read_only=True)
    series_instance_uid = serializers.CharField(max_length=64)
    sop_instance_uid = serializers.CharField(max_length=64)
    frame = serializers.IntegerField(min_value=1, max_value=MAX_FRAME, default=1, help_text="1-based frame number")
    data = serializers.DictField(help_text="the Cornerstone annotation JSON (an object of at most 64 KB)")
    label = serializers.CharField(max_length=256, allow_blank=True, default="")
    url = serializers.SerializerMethodField()

    class Meta:
        model = Annotation
        fields = ["uid", "url", "tool", "study_instance_uid", "series_instance_uid", "sop_instance_uid", "frame",
                  "data", "label", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def get_url(self, annotation) -> str:
        path = reverse("annotations:annotation-detail", args=[annotation.study.study_instance_uid, annotation.uid])
        return _absolute(self.context, path)


class AnnotationPutSerializer(AnnotationSerializer):
    uid = serializers.CharField(max_length=64, required=False, help_text="optional; must equal the UID in the URL")


class KeyImageSerializer(serializers.ModelSerializer):
    study_instance_uid = serializers.CharField(source="study.study_instance_uid", read_only=True)
    series_instance_uid = serializers.CharField(max_length=64)
    sop_instance_uid = serializers.CharField(max_length=64)
    frame = serializers.IntegerField(min_value=1, max_value=MAX_FRAME, default=1, help_text="1-based frame number")
    note = serializers.CharField(max_length=1024, allow_blank=True, default="")
    url = serializers.SerializerMethodField()

    class Meta:
        model = KeyImage
        fields = ["id", "url", "study_instance_uid", "series_instance_uid", "sop_instance_uid", "frame", "note", "created_at"]
        read_only_fields = ["id", "created_at"]

    def get_url(self, key_image) -> str:
        path = reverse("annotations:key-image-detail", args=[key_image.study.study_instance_uid, key_image.pk])
        return _absolute(self.context, path)
