from pathlib import Path

import pydicom.config
from django.apps import AppConfig
from django.conf import settings


class StudiesConfig(AppConfig):
    name = "studies"
    verbose_name = "Archive"

    def ready(self) -> None:
        # Real-world files break VR length rules all the time; the archive's own checks
        # (dicomfile.py) decide what is rejected, so pydicom's per-value warnings are noise.
        pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
        # Every process (web, worker, listener) needs the data folders; creating them is idempotent.
        folders = (settings.ARCHIVE_DIR, settings.SPOOL_DIR, settings.FILE_UPLOAD_TEMP_DIR, settings.CELERY_QUEUE_DIR, settings.STATIC_ROOT)
        for folder in folders:
            Path(folder).mkdir(parents=True, exist_ok=True)
        # A completed study's DICOMweb series metadata is built ahead of its first viewer.
        from studies.dicomweb.metadata import on_study_completed
        from studies.signals import study_completed

        study_completed.connect(on_study_completed, dispatch_uid="studies.dicomweb_metadata")

