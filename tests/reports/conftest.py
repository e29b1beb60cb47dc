"""Fixtures of the reading workflow: a study Alice uploaded and submitted for reading (with her
clinical question), its report on the worklist, and helpers that claim, write and sign it."""
from __future__ import annotations

import pytest
from pydicom.uid import generate_uid

from reports import services
from studies.ingest import Origin, ingest_file
from studies.models import Study, UploadItem, UploadJob
from tests.conftest import write_dicom

FINDINGS = "Small left pleural effusion. No pneumothorax."


def make_study(tmp_path, *, owner=None, for_reading=True, job=None, patient_name="DOE^JANE", images=2, **elements) -> Study:
    """A small study stored through the ingest funnel (by ``owner``, or over DICOM when None)."""
    study_uid, series_uid = generate_uid(), generate_uid()
    for number in range(1, images + 1):
        path = write_dicom(
            tmp_path / f"{study_uid}-{number}.dcm", StudyInstanceUID=study_uid, SeriesInstanceUID=series_uid, InstanceNumber=number,
            PatientName=patient_name, StudyDescription="CT chest", BodyPartExamined="CHEST", **elements,
        )
        origin = Origin(user_id=owner.pk if owner else None, upload_job_id=job.pk if job else None, for_reading=for_reading)
        assert ingest_file(path, origin=origin).ok
        if job is not None:  # as the upload service records each file of the job
            UploadItem.objects.create(job=job, name=path.name, status=UploadItem.Status.STORED, study_instance_uid=study_uid)
    return Study.objects.get(study_instance_uid=study_uid)


@pytest.fixture
def upload_job(alice):
    return UploadJob.objects.create(
        owner=alice, status=UploadJob.Status.DONE, upload_complete=True, submit_for_reading=True,
        priority="urgent", reason_for_exam="Cough for 3 weeks, <script>alert(1)</script>", referring_physician="Dr. Who",
    )


@pytest.fixture
def study(tmp_path, alice, upload_job):
    return make_study(tmp_path, owner=alice, job=upload_job)


@pytest.fixture
def report(study):
    return services.worklist_enter(study=study)


@pytest.fixture
def claimed(report, radiologist):
    return services.report_claim(report_id=report.pk, user=radiologist)


def write(report, radiologist, findings: str = FINDINGS, **extra):
    return services.draft_save(report_id=report.pk, user=radiologist, sections={"findings": findings, "impression": "Effusion.", **extra})


def sign(report, radiologist, kind: str = "final"):
    return services.report_sign(report_id=report.pk, user=radiologist, kind=kind, password="rita-password-123")


@pytest.fixture
def final_report(claimed, radiologist, django_capture_on_commit_callbacks):
    write(claimed, radiologist)
    with django_capture_on_commit_callbacks(execute=False):  # no SR task, no mail here
        sign(claimed, radiologist)
    claimed.refresh_from_db()
    return claimed
