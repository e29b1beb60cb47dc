"""The archive index: Patient → Study → Series → Instance, plus the upload jobs that feed it.

Field names follow the DICOM keywords in snake_case. The files themselves live in the
"dicom" storage; an Instance row exists only once its file is durable (see ingest.py).
"""
import uuid

from django.conf import settings
from django.db import models


class Patient(models.Model):
    # Patients are matched on (IssuerOfPatientID, PatientID); studies without a PatientID
    # each get their own anonymous patient instead of being merged together.
    patient_key = models.CharField(max_length=64, unique=True)
    patient_id = models.CharField(max_length=64, blank=True, db_index=True)
    issuer_of_patient_id = models.CharField(max_length=64, blank=True)
    patient_name = models.CharField(max_length=324, blank=True)
    # Upper-cased name with the PN component separators turned into spaces: what searches compare.
    patient_name_search = models.CharField(max_length=324, blank=True, db_index=True)
    patient_birth_date = models.DateField(null=True, blank=True, db_index=True)
    patient_sex = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.patient_name or '(no name)'} [{self.patient_id or '-'}]"


class Study(models.Model):
    study_instance_uid = models.CharField(max_length=64, unique=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="studies")
    study_date = models.DateField(null=True, blank=True, db_index=True)
    study_time = models.TimeField(null=True, blank=True)
    study_description = models.CharField(max_length=256, blank=True)
    study_id = models.CharField(max_length=16, blank=True)
    accession_number = models.CharField(max_length=64, blank=True, db_index=True)
    referring_physician_name = models.CharField(max_length=324, blank=True)
    modalities_in_study = models.CharField(max_length=256, blank=True)  # backslash-separated, as in DICOM
    number_of_study_related_series = models.PositiveIntegerField(default=0)
    number_of_study_related_instances = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # Last time an instance arrived: a study is "stable" once this stops moving.
    last_received_at = models.DateTimeField(auto_now_add=True)
    # Radiologists read the pool: every study received over DICOM (no uploader) and every
    # upload submitted for reading. Set by the ingest funnel; a flag, so the radiologists'
    # visibility rule stays an indexed filter instead of a scan over instances.
    in_reading_pool = models.BooleanField(default=False, db_index=True)
    # Completeness (studies/completeness.py). ``completion_due_at`` is set while a completion
    # check is pending (at most one per study, claimed with conditional UPDATEs); it goes back to
    # null, and ``completed_at`` is set, when the study has been quiet for LUMEN_STUDY_STABLE_SECONDS.
    completion_due_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "studies"
        indexes = [
            models.Index(fields=["-study_date", "-id"], name="study_date_recent"),
            # The sweeper looks for overdue checks; only studies still receiving have a due time.
            models.Index(
                fields=["completion_due_at"], name="study_completion_due", condition=models.Q(completion_due_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return self.study_description or self.study_instance_uid

    @property
    def is_complete(self) -> bool:
        """Quiet for the stable time since its last instance (no completion check pending)."""
        return self.completed_at is not None and self.completion_due_at is None

    @property
    def modalities(self) -> list[str]:
        return [m for m in self.modalities_in_study.split("\\") if m]


class Series(models.Model):
    series_instance_uid = models.CharField(max_length=64, unique=True)
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="series")
    modality = models.CharField(max_length=16, blank=True, db_index=True)
    series_number = models.IntegerField(null=True, blank=True)
    series_description = models.CharField(max_length=256, blank=True)
    body_part_examined = models.CharField(max_length=64, blank=True)
    series_date = models.DateField(null=True, blank=True)
    series_time = models.TimeField(null=True, blank=True)
    frame_of_reference_uid = models.CharField(max_length=64, blank=True)
    number_of_series_related_instances = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "series"

    def __str__(self) -> str:
        return f"{self.modality} {self.series_number or ''} {self.series_description}".strip()


class Instance(models.Model):
    sop_instance_uid = models.CharField(max_length=64, unique=True)
    sop_class_uid = models.CharField(max_length=64, db_index=True)
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="instances")
    instance_number = models.IntegerField(null=True, blank=True)
    transfer_syntax_uid = models.CharField(max_length=64)
    rows = models.PositiveIntegerField(null=True, blank=True)
    columns = models.PositiveIntegerField(null=True, blank=True)
    number_of_frames = models.PositiveIntegerField(default=1)
    photometric_interpretation = models.CharField(max_length=16, blank=True)
    image_position_patient = models.JSONField(null=True, blank=True)
    image_orientation_patient = models.JSONField(null=True, blank=True)
    pixel_spacing = models.JSONField(null=True, blank=True)
    slice_thickness = models.FloatField(null=True, blank=True)
    slice_location = models.FloatField(null=True, blank=True)
    # Position along the slice normal (ordering.py): the key slices are sorted by.
    slice_position = models.FloatField(null=True, blank=True)
    acquisition_time = models.CharField(max_length=32, blank=True)
    window_center = models.FloatField(null=True, blank=True)
    window_width = models.FloatField(null=True, blank=True)
    rescale_slope = models.FloatField(default=1.0)
    rescale_intercept = models.FloatField(default=0.0)
    # The stored file.
    storage_key = models.CharField(max_length=300, unique=True)
    file_size = models.PositiveBigIntegerField()
    # Of the whole stored file (zeroed preamble, File Meta, dataset): ETags, integrity checks.
    # Duplicates are judged on the dataset instead (ingest._same_dataset): File Meta differs by sender.
    sha256 = models.CharField(max_length=64)
    # PS3.18 F.2 DICOM JSON of the whole header, bulk data left out: metadata answers never reopen files.
    dicom_json = models.JSONField(default=dict)
    # Origin.
    received_at = models.DateTimeField(auto_now_add=True)
    upload_job = models.ForeignKey("UploadJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="instances")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="uploaded_instances"
    )
    calling_ae_title = models.CharField(max_length=16, blank=True)
    peer_address = models.GenericIPAddressField(null=True, blank=True)

    def __str__(self) -> str:
        return self.sop_instance_uid

    @property
    def has_pixels(self) -> bool:
        return bool(self.rows and self.columns)


class SeriesMetadata(models.Model):
    """The WADO-RS metadata answer of a series as last built (studies/dicomweb/metadata.py): 1.4 MB
    of JSON for a 140-slice CT that PostgreSQL took ~20 ms of CPU to print from the stored headers.

    ``version`` names the rows it was built from (their PostgreSQL ``xmin``s), so any change of an
    instance, the series or the study makes it stale without a hook in the writers; the row goes
    with its series (CASCADE), and with it the PHI it holds.
    """

    series = models.OneToOneField(Series, on_delete=models.CASCADE, primary_key=True, related_name="metadata_cache")
    version = models.CharField(max_length=128)
    body = models.TextField()  # BulkDataURIs relative to /dicomweb/studies: each answer prefixes its host


class StudyAccess(models.Model):
    """A person's right to see a study. Written by the funnel when a person stores into a study;
    sharing and assignment (people-and-access issue) add rows of their own kinds.

    A row per (user, study) keeps ``selectors.visible_studies`` an indexed join instead of a
    scan over every instance of every study.
    """

    class Reason(models.TextChoices):
        UPLOADED = "uploaded"
        SHARED = "shared"  # studies/sharing.py: given by someone who could see the study
        ASSIGNED = "assigned"  # a study assigned to a radiologist for reading

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_accesses")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="accesses")
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.UPLOADED)
    created_at = models.DateTimeField(auto_now_add=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "study"], name="one_access_per_user_and_study")]


class ShareLink(models.Model):
    """A view-only (optionally download) link to one study; studies/sharing.py makes and checks them.

    Only the SHA-256 of the token is stored: a leaked database does not leak working links.
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="share_links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="share_links")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    allow_download = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]


class UploadJob(models.Model):
    """One web upload session: batches of files and ZIPs, ingested by a Celery task."""

    class Status(models.TextChoices):
        RECEIVING = "receiving"
        PROCESSING = "processing"
        DONE = "done"
        FAILED = "failed"

    class Priority(models.TextChoices):
        ROUTINE = "routine"
        URGENT = "urgent"
        STAT = "stat", "STAT"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="upload_jobs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVING)
    upload_complete = models.BooleanField(default=False)  # the client has sent every batch
    bytes_received = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The clinical question sent with a portal upload (shown to the radiologist).
    reason_for_exam = models.CharField(max_length=1024, blank=True)
    referring_physician = models.CharField(max_length=256, blank=True)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.ROUTINE)
    # The uploader asks for a read: the studies of this upload join the radiologists' pool.
    submit_for_reading = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]


class UploadItem(models.Model):
    """One file of an upload (or one entry of an uploaded ZIP) and what ingest said of it."""

    class Kind(models.TextChoices):
        FILE = "file"
        ZIP = "zip"

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        STORED = "stored"
        DUPLICATE = "duplicate"  # already stored: identical bytes, nothing written
        REJECTED = "rejected"
        SKIPPED = "skipped"  # not DICOM (or a DICOMDIR index)
        EXPANDED = "expanded"  # a ZIP whose entries became items of their own

    job = models.ForeignKey(UploadJob, on_delete=models.CASCADE, related_name="items")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    # The client's path: shown to the user, never used to build a server path.
    name = models.CharField(max_length=1024)
    spool_name = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.FILE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    reason = models.TextField(blank=True)
    sop_instance_uid = models.CharField(max_length=64, blank=True)
    study_instance_uid = models.CharField(max_length=64, blank=True)
    # When a task claimed the item (pending → processing); a claim left by a dead worker goes stale.
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        # Tasks claim "the next pending item of job X"; progress counts items of job X by status.
        indexes = [models.Index(fields=["job", "status"], name="uploaditem_job_status")]


class RemoteNode(models.Model):
    """A DICOM peer the archive knows: what it may ask of us, and whether we may send to it.

    The listener matches a calling AE title against ``ae_title``; C-MOVE and "send to node"
    connect to ``host:port`` as the called AE ``ae_title`` (studies/dimse/nodes.py).
    """

    ae_title = models.CharField("AE title", max_length=16, unique=True)  # AE is 16 characters (PS3.5 6.2)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField()
    description = models.CharField(max_length=256, blank=True)
    may_store = models.BooleanField(default=True, help_text="may send us images (C-STORE)")
    may_query = models.BooleanField(default=True, help_text="may search the archive (C-FIND)")
    may_retrieve = models.BooleanField(default=True, help_text="may retrieve images (C-MOVE, C-GET)")
    is_move_destination = models.BooleanField(
        default=False, help_text="images may be sent to it (C-MOVE destination, send to node)"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["ae_title"]

    def __str__(self) -> str:
        return f"{self.ae_title} ({self.host}:{self.port})"


class SendJob(models.Model):
    """Sending a study (or one series) to a remote node over one association (C-STORE SCU)."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"  # every instance was offered; ``results`` tells which were accepted
        FAILED = "failed"  # the association could not be made or broke off

    node = models.ForeignKey(RemoteNode, on_delete=models.PROTECT, related_name="send_jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="send_jobs"
    )
    study_instance_uid = models.CharField(max_length=64)
    series_instance_uid = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    warning = models.PositiveIntegerField(default=0)
    # One entry per instance offered: {"sop_instance_uid", "status" (the peer's, as an int), "result", "comment"}.
    results = models.JSONField(default=list)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
