"""The audit trail: one append-only row per security-relevant event.

Event ids are the DICOM audit event codes (PS3.15 A.5.3, codes DCM 110100-110114) so a row
can later be sent as an IHE ATNA (RFC 3881 / DICOM PS3.15 A.5) message without mapping.
``action`` narrows the event (a User Authentication is a login, a failed login or a lockout).
Outcome is the EventOutcomeIndicator of PS3.15 A.5.3.1: 0 success, 4 minor failure,
8 serious failure, 12 major failure.

Rows are never changed: ``save()`` refuses updates, ``delete()`` refuses, the admin is
read-only, and the database refuses UPDATE and DELETE with a trigger (migration 0002).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AppendOnly(Exception):
    """An attempt to change or remove an audit row."""


class Event(models.TextChoices):
    # DICOM Controlled Terminology (PS3.16 Annex D), the EventID of PS3.15 A.5.3.
    APPLICATION_ACTIVITY = "110100", "Application Activity"
    AUDIT_LOG_USED = "110101", "Audit Log Used"
    BEGIN_TRANSFERRING = "110102", "Begin Transferring DICOM Instances"
    INSTANCES_ACCESSED = "110103", "DICOM Instances Accessed"
    INSTANCES_TRANSFERRED = "110104", "DICOM Instances Transferred"
    STUDY_DELETED = "110105", "DICOM Study Deleted"
    EXPORT = "110106", "Export"
    IMPORT = "110107", "Import"
    NETWORK_ENTRY = "110108", "Network Entry"
    ORDER_RECORD = "110109", "Order Record"
    PATIENT_RECORD = "110110", "Patient Record"
    PROCEDURE_RECORD = "110111", "Procedure Record"
    QUERY = "110112", "Query"
    SECURITY_ALERT = "110113", "Security Alert"
    USER_AUTHENTICATION = "110114", "User Authentication"


class Action(models.TextChoices):
    LOGIN = "login", "Login"
    LOGIN_FAILED = "login-failed", "Login failed"
    LOCKOUT = "lockout", "Lockout"
    LOGOUT = "logout", "Logout"
    STUDY_VIEW = "study-view", "Study view"
    IMAGE_DOWNLOAD = "image-download", "Image download"
    FILE_DOWNLOAD = "file-download", "File download"
    UPLOAD = "upload", "Upload"
    C_STORE = "c-store", "C-STORE"
    C_FIND = "c-find", "C-FIND"
    C_MOVE = "c-move", "C-MOVE"
    C_GET = "c-get", "C-GET"
    QIDO = "qido", "QIDO-RS"
    WADO = "wado", "WADO-RS"
    STOW = "stow", "STOW-RS"
    SHARE = "share", "Share"
    ROLE_CHANGE = "role-change", "Role change"
    ACCESS_DENIED = "access-denied", "Access denied"
    AUDIT_SEARCH = "audit-search", "Audit log search"
    AUDIT_EXPORT = "audit-export", "Audit log export"
    REPORT_VIEW = "report-view", "Report view"
    REPORT_CLAIM = "report-claim", "Report claim or assignment"
    REPORT_SIGN = "report-sign", "Report signature"
    REPORT_CANCEL = "report-cancel", "Report cancelled"
    REPORT_CRITICAL = "report-critical", "Critical result"
    REPORT_SR = "report-sr", "Report stored as DICOM SR"


class Outcome(models.IntegerChoices):
    # PS3.15 A.5.3.1 EventOutcomeIndicator (RFC 3881 5.1.4).
    SUCCESS = 0, "Success"
    MINOR_FAILURE = 4, "Minor failure"
    SERIOUS_FAILURE = 8, "Serious failure"
    MAJOR_FAILURE = 12, "Major failure"


class AuditEventQuerySet(models.QuerySet):
    """Bulk changes bypass save()/delete(): refuse them here too."""

    def update(self, **kwargs):
        raise AppendOnly("audit events cannot be changed")

    def delete(self):
        raise AppendOnly("audit events cannot be deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnly("audit events cannot be changed")


class AuditEvent(models.Model):
    event = models.CharField(max_length=6, choices=Event.choices)
    action = models.CharField(max_length=32, choices=Action.choices)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    outcome = models.PositiveSmallIntegerField(choices=Outcome.choices, default=Outcome.SUCCESS)
    # Who. The FK is for filtering only: no database constraint and no cascade, so deleting a
    # user never touches (and so never needs to update) the trail; ``username`` is the record.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True, db_index=True)
    calling_ae = models.CharField(max_length=16, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    # What.
    study_uid = models.CharField(max_length=64, blank=True, db_index=True)
    patient_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["event", "occurred_at"])]

    def __str__(self):
        who = self.username or self.calling_ae or self.ip or "?"
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.event} {self.action} {who} {self.get_outcome_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("audit events cannot be changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("audit events cannot be deleted")
