"""The reading workflow: a Report per study read, its versions (a signed version never changes),
templates and text macros for the editor, and in-app notifications.

State changes go through ``reports.services``; the models refuse what the state machine
(``reports.workflow``) forbids even when someone calls ``save()`` directly, and the database
refuses any UPDATE of a signed version (migration 0002, ``reports/guard.py``).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from reports import workflow


class Report(models.Model):
    class Status(models.TextChoices):
        UNREAD = workflow.UNREAD, "unread"
        IN_PROGRESS = workflow.IN_PROGRESS, "in progress"
        PRELIMINARY = workflow.PRELIMINARY, "preliminary"
        FINAL = workflow.FINAL, "final"
        AMENDED = workflow.AMENDED, "amended"
        CANCELLED = workflow.CANCELLED, "cancelled"

    class Priority(models.TextChoices):
        # Same words as UploadJob.Priority; the rank orders the worklist (STAT first).
        STAT = "stat", "STAT"
        URGENT = "urgent", "urgent"
        ROUTINE = "routine", "routine"

    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE, related_name="reports")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNREAD, db_index=True)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.ROUTINE)
    priority_rank = models.PositiveSmallIntegerField(default=2)  # 0 STAT, 1 urgent, 2 routine: sortable
    clinical_question = models.CharField(max_length=1024, blank=True)
    referring_physician = models.CharField(max_length=256, blank=True)
    upload_job = models.ForeignKey("studies.UploadJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The radiologist who claimed it or was assigned it.
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="held_reports"
    )
    # Who signed the final text: the turnaround page counts per this person.
    final_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    complete_at = models.DateTimeField(db_index=True)  # the study was complete: it entered the worklist
    claimed_at = models.DateTimeField(null=True, blank=True)
    final_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=1024, blank=True)
    # Critical result: flagged, and when the referrer was notified of it (at once, by the app).
    critical = models.BooleanField(default=False)
    critical_notified_at = models.DateTimeField(null=True, blank=True)
    # The latest DICOM SR stored into the study for this report (reports.tasks).
    sr_sop_instance_uid = models.CharField(max_length=64, blank=True)
    sr_version = models.PositiveIntegerField(null=True, blank=True)  # the version number that SR holds
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority_rank", "complete_at", "id"]
        constraints = [
            # One live read per study: the worklist receiver may fire twice, two processes may race.
            models.UniqueConstraint(fields=["study"], condition=~Q(status=workflow.CANCELLED), name="one_live_report_per_study"),
            models.CheckConstraint(
                condition=~Q(status__in=workflow.CLOSED) | Q(final_at__isnull=False), name="closed_report_has_final_at"
            ),
            models.CheckConstraint(
                condition=~Q(status=workflow.CANCELLED) | ~Q(cancel_reason=""), name="cancelled_report_has_reason"
            ),
            models.CheckConstraint(
                condition=~Q(status=workflow.IN_PROGRESS) | Q(holder__isnull=False), name="report_in_progress_has_holder"
            ),
        ]
        indexes = [models.Index(fields=["status", "priority_rank", "complete_at"], name="report_worklist")]

    def __str__(self) -> str:
        return f"Report {self.pk} ({self.status})"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_status = instance.__dict__.get("status")
        return instance

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        self._loaded_status = self.status

    def save(self, *args, **kwargs):
        # The model guards the state machine too: a direct save cannot skip a step.
        loaded = getattr(self, "_loaded_status", None)
        if loaded is not None:
            workflow.check_transition(loaded, self.status)
        elif self.status != workflow.UNREAD and self._state.adding:
            raise workflow.InvalidTransition("a new report starts unread")
        self.priority_rank = PRIORITY_RANK.get(self.priority, 2)
        super().save(*args, **kwargs)
        self._loaded_status = self.status

    @property
    def is_open(self) -> bool:
        return self.status in workflow.OPEN

    @property
    def is_closed(self) -> bool:
        return self.status in workflow.CLOSED


PRIORITY_RANK = {Report.Priority.STAT: 0, Report.Priority.URGENT: 1, Report.Priority.ROUTINE: 2}


class ReportVersion(models.Model):
    """One text of a report. At most one unsigned version (the draft being written) per report;
    once ``signed_at`` is set the row is locked: ``save()`` and ``delete()`` refuse, and so does
    the database. Preliminary and final versions carry the sections; an addendum carries ``text``.
    """

    class Kind(models.TextChoices):
        DRAFT = workflow.DRAFT
        PRELIMINARY = workflow.PRELIMINARY
        FINAL = workflow.FINAL
        ADDENDUM = workflow.ADDENDUM

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()  # 1, 2, … in the order written
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DRAFT)
    # {section name: text} for the names of reports.outputs.document.SECTIONS.
    sections = models.JSONField(default=dict, blank=True)
    text = models.TextField(blank=True)  # an addendum's text
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="report_versions")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    # Critical result and its communication: who was told, and when (as the radiologist records it).
    critical = models.BooleanField(default=False)
    critical_told = models.CharField(max_length=256, blank=True)
    critical_told_at = models.DateTimeField(null=True, blank=True)
    # The key images figured in the report: [{"series_instance_uid", "sop_instance_uid", "frame", "note"}].
    key_images = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["report", "number"]
        constraints = [
            models.UniqueConstraint(fields=["report", "number"], name="one_version_number_per_report"),
            models.UniqueConstraint(fields=["report"], condition=Q(signed_at__isnull=True), name="one_draft_per_report"),
            # A draft is unsigned; everything else is signed.
            models.CheckConstraint(
                condition=(Q(kind=workflow.DRAFT) & Q(signed_at__isnull=True)) | (~Q(kind=workflow.DRAFT) & Q(signed_at__isnull=False)),
                name="version_signed_unless_draft",
            ),
        ]

    def __str__(self) -> str:
        return f"Report {self.report_id} v{self.number} ({self.kind})"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_signed = instance.__dict__.get("signed_at") is not None
        return instance

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    def save(self, *args, **kwargs):
        if getattr(self, "_loaded_signed", False):
            raise workflow.SignedVersionLocked("a signed report version cannot be changed; add an addendum")
        super().save(*args, **kwargs)
        self._loaded_signed = self.signed_at is not None

    def delete(self, *args, **kwargs):
        if getattr(self, "_loaded_signed", False) or self.signed_at is not None:
            raise workflow.SignedVersionLocked("a signed report version cannot be deleted")
        return super().delete(*args, **kwargs)

    def section_text(self, name: str) -> str:
        return str((self.sections or {}).get(name) or "")


class ReportTemplate(models.Model):
    """Prefilled sections for a modality and/or body part. ``owner`` empty: a global template
    (admins keep them in Django admin); else the radiologist's own."""

    name = models.CharField(max_length=120)
    modality = models.CharField(max_length=16, blank=True, help_text="empty: any modality")
    body_part = models.CharField(max_length=64, blank=True, help_text="empty: any body part (DICOM BodyPartExamined)")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="report_templates")
    sections = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class TextMacro(models.Model):
    """A snippet the editor inserts at the cursor (e.g. "nad" → "No acute abnormality.")."""

    name = models.CharField(max_length=40)
    text = models.TextField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="text_macros")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """An in-app notice: a link, never medical content (the linked page checks who may see it)."""

    class Kind(models.TextChoices):
        REPORT_FINAL = "report-final", "report ready"
        REPORT_AMENDED = "report-amended", "addendum"
        CRITICAL = "critical", "critical result"

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    message = models.CharField(max_length=200)
    link = models.CharField(max_length=300)  # a path on this site
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]
