"""Upload services and the ingest task body, without a worker: Alice's batches become items,
the task (called directly) claims and ingests them, and the job's progress is counted from its items."""
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from studies import ingest as ingest_module
from studies.models import Instance, UploadItem, UploadJob
from studies.selectors import visible_studies
from studies.uploads import (
    UploadClosed,
    UploadTooLarge,
    job_folder,
    upload_complete,
    upload_job_create,
    upload_process,
    upload_progress,
    upload_receive_batch,
)
from tests.conftest import CT_ABDOMEN, archived_files, sample, write_dicom

pytestmark = pytest.mark.django_db


def as_uploads(*files: tuple[str, Path | bytes]) -> list:
    return [(name, SimpleUploadedFile(Path(name).name or "x", data.read_bytes() if isinstance(data, Path) else data)) for name, data in files]


def spooled_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "spool").rglob("*") if p.is_file()]


def test_alice_uploads_a_folder_and_every_file_gets_an_answer(alice, data_dir, tmp_path):
    first = write_dicom(tmp_path / "a.dcm", PatientName="ALICE^PATIENT")
    second = write_dicom(tmp_path / "b.dcm", StudyInstanceUID="1.2.3.4.5", SeriesInstanceUID="1.2.3.4.5.1")
    conflicting = write_dicom(tmp_path / "c.dcm", SOPInstanceUID=ingest_module.read_header(second).dataset.SOPInstanceUID, PatientID="OTHER")
    job = upload_job_create(owner=alice)

    upload_receive_batch(
        job=job,
        files=as_uploads(
            ("exam/a.dcm", first),
            ("exam/b.dcm", second),
            ("exam/copy of b.dcm", second),
            ("exam/c.dcm", conflicting),
            ("exam/notes.txt", b"not an image"),
            ("exam/DICOMDIR", sample("dicomdir/pydicom_dicomdirtests/DICOMDIR")),
        ),
    )
    upload_complete(job=job)
    upload_process(job_id=job.id)
    job.refresh_from_db()

    assert job.status == UploadJob.Status.DONE and job.finished_at is not None
    progress = upload_progress(job=job, user=alice)
    assert progress["files"] == {"total": 6, "done": 6}
    assert progress["counts"] == {"stored": 2, "duplicate": 1, "rejected": 1, "skipped": 2, "pending": 0, "processing": 0}
    by_name = {item["name"]: item for item in progress["items"]}
    assert [item["name"] for item in progress["items"]] == ["exam/a.dcm", "exam/b.dcm", "exam/copy of b.dcm", "exam/c.dcm", "exam/notes.txt", "exam/DICOMDIR"]
    assert by_name["exam/copy of b.dcm"]["status"] == "duplicate"
    assert by_name["exam/c.dcm"]["status"] == "rejected" and "different content" in by_name["exam/c.dcm"]["reason"]
    assert (by_name["exam/notes.txt"]["status"], by_name["exam/notes.txt"]["reason"]) == ("skipped", "not a DICOM file")
    assert by_name["exam/DICOMDIR"]["status"] == "skipped" and by_name["exam/DICOMDIR"]["reason"].startswith("a DICOMDIR index")
    # The stored studies, as links Alice can follow, and recorded as hers.
    assert {s["study_instance_uid"] for s in progress["studies"]} == {i.series.study.study_instance_uid for i in Instance.objects.all()}
    assert {s["url"] for s in progress["studies"]} >= {"/studies/1.2.3.4.5/"}
    assert set(Instance.objects.values_list("upload_job", "uploaded_by")) == {(job.id, alice.id)}
    assert visible_studies(alice).count() == 2
    # Spool files go as soon as they are ingested; the job's folder once it is done.
    assert spooled_files(data_dir) == [] and not job_folder(job.id).exists()


def test_spool_files_get_server_made_names_whatever_the_client_calls_them(alice, data_dir, tmp_path):
    job = upload_job_create(owner=alice)
    hostile = "../../../../etc/cron.d/evil"
    items = upload_receive_batch(job=job, files=as_uploads((hostile, write_dicom(tmp_path / "x.dcm"))))

    item = items[0]
    assert item.name == hostile  # shown back to Alice as she named it…
    assert item.spool_name.isalnum() and len(item.spool_name) == 32  # …but stored under a name of ours
    assert spooled_files(data_dir) == [job_folder(job.id) / item.spool_name]
    assert not Path("/etc/cron.d/evil").exists()


def test_progress_before_the_client_completes_counts_pending_items(alice, tmp_path):
    job = upload_job_create(owner=alice)
    upload_receive_batch(job=job, files=as_uploads(("1.dcm", write_dicom(tmp_path / "1.dcm")), ("2.dcm", write_dicom(tmp_path / "2.dcm"))))

    progress = upload_progress(job=job, user=alice)
    assert progress["status"] == "receiving" and not progress["upload_complete"]
    assert progress["files"] == {"total": 2, "done": 0}
    assert progress["counts"]["pending"] == 2
    assert "items" not in progress  # the per-file summary comes once the job is done

    # Ingest overlaps the upload: the task stores what has arrived, but the job stays open.
    upload_process(job_id=job.id)
    job.refresh_from_db()
    assert job.status == UploadJob.Status.RECEIVING
    assert upload_progress(job=job, user=alice)["counts"]["stored"] == 2

    upload_receive_batch(job=job, files=as_uploads(("3.dcm", write_dicom(tmp_path / "3.dcm"))))
    upload_complete(job=job)
    upload_process(job_id=job.id)
    job.refresh_from_db()
    assert job.status == UploadJob.Status.DONE
    assert upload_progress(job=job, user=alice)["files"] == {"total": 3, "done": 3}


def test_running_the_task_twice_changes_nothing(alice, data_dir, tmp_path):
    job = upload_job_create(owner=alice)
    upload_receive_batch(job=job, files=as_uploads(*[(p.name, p) for p in sorted(CT_ABDOMEN.iterdir())[:5]]))
    upload_complete(job=job)

    upload_process(job_id=job.id)
    first = list(job.items.values_list("id", "status", "reason"))
    finished_at = UploadJob.objects.get(pk=job.pk).finished_at
    upload_process(job_id=job.id)

    assert list(job.items.values_list("id", "status", "reason")) == first
    assert {status for _, status, _ in first} == {"stored"}
    assert Instance.objects.count() == 5 and len(archived_files(data_dir)) == 5
    assert UploadJob.objects.get(pk=job.pk).finished_at == finished_at


def test_the_task_returns_quietly_when_the_job_is_gone(alice):
    job = upload_job_create(owner=alice)
    job_id = job.id
    job.delete()
    upload_process(job_id=job_id)  # no exception, nothing to do
    assert not UploadJob.objects.filter(pk=job_id).exists()


def test_an_item_another_task_is_working_on_is_left_to_it(alice, tmp_path):
    job = upload_job_create(owner=alice)
    items = upload_receive_batch(job=job, files=as_uploads(("1.dcm", write_dicom(tmp_path / "1.dcm")), ("2.dcm", write_dicom(tmp_path / "2.dcm"))))
    upload_complete(job=job)
    # Another worker claimed the first item a moment ago.
    UploadItem.objects.filter(pk=items[0].pk).update(status="processing", claimed_at=timezone.now())

    upload_process(job_id=job.id)

    job.refresh_from_db()
    assert dict(job.items.values_list("name", "status")) == {"1.dcm": "processing", "2.dcm": "stored"}
    assert job.status == UploadJob.Status.PROCESSING  # not done while an item is still being worked on


def test_a_claim_left_by_a_dead_worker_is_taken_over(alice, settings, tmp_path):
    job = upload_job_create(owner=alice)
    items = upload_receive_batch(job=job, files=as_uploads(("1.dcm", write_dicom(tmp_path / "1.dcm"))))
    upload_complete(job=job)
    long_ago = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    UploadItem.objects.filter(pk=items[0].pk).update(status="processing", claimed_at=long_ago)

    upload_process(job_id=job.id)

    job.refresh_from_db()
    assert job.items.get().status == "stored"
    assert job.status == UploadJob.Status.DONE


def test_an_exception_on_one_file_is_recorded_on_it_and_the_others_are_stored(alice, tmp_path, monkeypatch):
    # The funnel does not raise on bad input (that is a rejection); this stands in for a bug or
    # an unexpected failure in it, on one file only.
    job = upload_job_create(owner=alice)
    items = upload_receive_batch(job=job, files=as_uploads(*[(f"{n}.dcm", write_dicom(tmp_path / f"{n}.dcm")) for n in range(3)]))
    cursed = job_folder(job.id) / items[1].spool_name
    real_ingest = ingest_module.ingest_file

    def ingest_file(path, *, origin):
        if Path(path) == cursed:
            raise RuntimeError("disk on fire")
        return real_ingest(path, origin=origin)

    monkeypatch.setattr("studies.uploads.ingest_file", ingest_file)
    upload_complete(job=job)
    upload_process(job_id=job.id)

    summary = {item["name"]: (item["status"], item["reason"]) for item in upload_progress(job=UploadJob.objects.get(pk=job.pk), user=alice)["items"]}
    assert summary == {
        "0.dcm": ("stored", ""),
        "1.dcm": ("rejected", "an unexpected error stopped this file from being stored (RuntimeError)"),
        "2.dcm": ("stored", ""),
    }
    assert not cursed.exists()


def test_the_byte_limit_holds_across_batches(alice, data_dir, settings, tmp_path):
    settings.LUMEN_UPLOAD_MAX_BYTES = 1000
    job = upload_job_create(owner=alice)
    upload_receive_batch(job=job, files=as_uploads(("a.bin", b"a" * 600)))

    with pytest.raises(UploadTooLarge) as refused:
        upload_receive_batch(job=job, files=as_uploads(("b.bin", b"b" * 401)))

    assert str(refused.value) == "Upload refused: one upload may hold at most 1000 bytes. Send the rest as a new upload."
    job.refresh_from_db()
    assert job.bytes_received == 600
    assert list(job.items.values_list("name", flat=True)) == ["a.bin"]
    assert len(spooled_files(data_dir)) == 1
    upload_receive_batch(job=job, files=as_uploads(("c.bin", b"c" * 400)))  # exactly up to the limit is fine
    job.refresh_from_db()
    assert job.bytes_received == 1000


def test_a_completed_job_takes_no_more_batches(alice, tmp_path):
    job = upload_job_create(owner=alice)
    upload_complete(job=job)
    with pytest.raises(UploadClosed):
        upload_receive_batch(job=job, files=as_uploads(("1.dcm", write_dicom(tmp_path / "1.dcm"))))
    assert job.items.count() == 0


def test_an_empty_upload_completes_as_done(alice):
    job = upload_job_create(owner=alice)
    upload_complete(job=job)
    upload_process(job_id=job.id)
    job.refresh_from_db()
    assert job.status == UploadJob.Status.DONE
    assert upload_progress(job=job, user=alice)["items"] == []


def test_charlie_cannot_reach_alices_study_by_uploading_a_copy_of_her_file(alice, charlie, tmp_path):
    slice_ = write_dicom(tmp_path / "s.dcm")
    alices = upload_job_create(owner=alice)
    upload_receive_batch(job=alices, files=as_uploads(("s.dcm", slice_)))
    upload_complete(job=alices)
    upload_process(job_id=alices.id)

    # Charlie sends the very same file: the funnel refuses it, and his summary links no study.
    charlies = upload_job_create(owner=charlie)
    upload_receive_batch(job=charlies, files=as_uploads(("s.dcm", slice_)))
    upload_complete(job=charlies)
    upload_process(job_id=charlies.id)

    charlies.refresh_from_db()
    progress = upload_progress(job=charlies, user=charlie)
    assert [(i["status"], i["reason"]) for i in progress["items"]] == [("rejected", "the instance belongs to a study you may not add to")]
    assert progress["studies"] == []
    assert visible_studies(charlie).count() == 0
    assert len(upload_progress(job=UploadJob.objects.get(pk=alices.pk), user=alice)["studies"]) == 1
