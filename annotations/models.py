"""What a reader marks on a study: measurements and annotations drawn in the viewer, and key
images picked for the report. Each row belongs to one user, one study and one image frame
(the instance must be of that study); nobody else ever reads or changes it.
"""
from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

# The Cornerstone3D tool names (``SomeTool.toolName``) the viewer may save: the one list.
TOOLS = (
    "Length",
    "Angle",
    "CobbAngle",
    "Bidirectional",
    "Height",
    "EllipticalROI",
    "CircleROI",
    "RectangleROI",
    "PlanarFreehandROI",
    "SplineROI",
    "Probe",
    "ArrowAnnotate",
    "Label",
)
# A client-generated annotation UID (Cornerstone makes UUIDs): safe in a URL path segment.
UID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
MAX_FRAME = 2**31 - 1  # PostgreSQL integer


class Annotation(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotations")
    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE, related_name="annotations")
    instance = models.ForeignKey("studies.Instance", on_delete=models.CASCADE, related_name="annotations")
    uid = models.CharField(max_length=64, validators=[RegexValidator(UID_PATTERN)])
    tool = models.CharField(max_length=32, choices=[(tool, tool) for tool in TOOLS])
    frame = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    data = models.JSONField(default=dict)  # the Cornerstone annotation, as the viewer sent it
    label = models.CharField(max_length=256, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # The UID is unique per person and study only: another user's UID is never an
            # obstacle (or an oracle) to anybody else.
            models.UniqueConstraint(fields=["user", "study", "uid"], name="one_annotation_uid_per_user_and_study"),
            models.CheckConstraint(condition=models.Q(frame__gte=1), name="annotation_frame_from_one"),
        ]

    def __str__(self):
        return f"{self.tool} {self.uid}"

    @property
    def sop_instance_uid(self) -> str:
        return self.instance.sop_instance_uid

    @property
    def series_instance_uid(self) -> str:
        return self.instance.series.series_instance_uid


class KeyImage(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="key_images")
    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE, related_name="key_images")
    instance = models.ForeignKey("studies.Instance", on_delete=models.CASCADE, related_name="key_images")
    frame = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    note = models.CharField(max_length=1024, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # Marking the same frame twice finds the first mark (services.key_image_mark).
            models.UniqueConstraint(fields=["user", "instance", "frame"], name="one_key_image_per_user_and_frame"),
            models.CheckConstraint(condition=models.Q(frame__gte=1), name="key_image_frame_from_one"),
        ]
        indexes = [models.Index(fields=["study", "user"], name="keyimage_study_user")]

    def __str__(self):
        return f"key image {self.instance_id}#{self.frame}"

    # The report and the API name the image by its UIDs (select_related("instance__series")).
    @property
    def sop_instance_uid(self) -> str:
        return self.instance.sop_instance_uid

    @property
    def series_instance_uid(self) -> str:
        return self.instance.series.series_instance_uid
