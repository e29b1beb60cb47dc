"""Study completeness (studies/completeness.py): study_completed fires once per quiet period.

The worker tests run a real Celery worker with a stable time of 2 s; the worker logs
"study <uid> is complete" each time it fires the signal, which is what they count. The
in-process tests call the check directly to pin down the races.
"""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from pydicom.uid import generate_uid

from studies import completeness
from studies.ingest import Origin, ingest_file
from studies.models import Study
from studies.signals import study_completed
from tests.conftest import write_dicom

pytestmark = pytest.mark.django_db(transaction=True)

STABLE = 2
WAIT_SECONDS = 60  # a safety net for a hung worker, not a speed check


@pytest.fixture
def stable_time(settings, monkeypatch):
    settings.LUMEN_STUDY_STABLE_SECONDS = STABLE
    monkeypatch.setenv("LUMEN_STUDY_STABLE_SECONDS", str(STABLE))  # for the worker process
    return STABLE


@pytest.fixture
def completing_worker(stable_time, worker):
    """The real worker, started after the stable time is in its environment."""
    return worker


def send(tmp_path, study_uid: str, n: int = 1) -> None:
    for _ in range(n):
        path = write_dicom(tmp_path / "in" / f"{generate_uid()}.dcm", StudyInstanceUID=study_uid)
        assert ingest_file(path, origin=Origin(calling_ae_title="MODALITY")).ok


def fired(tmp_path, study_uid: str) -> int:
    return (tmp_path / "worker.log").read_text(errors="replace").count(f"study {study_uid} is complete")


def wait_for(condition, what: str, tmp_path):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"{what} did not happen; worker log:\n{(tmp_path / 'worker.log').read_text(errors='replace')[-4000:]}")


def test_a_quiet_study_completes_once(completing_worker, tmp_path):
    uid = generate_uid()
    send(tmp_path, uid, 3)
    wait_for(lambda: fired(tmp_path, uid) == 1, "completion", tmp_path)
    study = Study.objects.get(study_instance_uid=uid)
    assert study.is_complete and study.completed_at >= study.last_received_at + timedelta(seconds=STABLE)

    time.sleep(3 * STABLE)  # long enough for a second firing, if there were one
    assert fired(tmp_path, uid) == 1
    assert Study.objects.get(study_instance_uid=uid).completed_at == study.completed_at


def test_a_late_instance_reopens_the_study_and_it_completes_again(completing_worker, tmp_path):
    uid = generate_uid()
    send(tmp_path, uid)
    wait_for(lambda: fired(tmp_path, uid) == 1, "first completion", tmp_path)
    first = Study.objects.get(study_instance_uid=uid).completed_at

    send(tmp_path, uid)
    reopened = Study.objects.get(study_instance_uid=uid)
    assert not reopened.is_complete and reopened.completion_due_at is not None
    wait_for(lambda: fired(tmp_path, uid) == 2, "second completion", tmp_path)
    again = Study.objects.get(study_instance_uid=uid)
    assert again.is_complete and again.completed_at > first and again.number_of_study_related_instances == 2


def test_it_does_not_fire_while_instances_keep_arriving(completing_worker, tmp_path):
    uid = generate_uid()
    until = time.monotonic() + 3 * STABLE
    while time.monotonic() < until:  # an instance every half stable time, for three stable times
        send(tmp_path, uid)
        assert fired(tmp_path, uid) == 0 and Study.objects.get(study_instance_uid=uid).completed_at is None
        time.sleep(STABLE / 4)
    wait_for(lambda: fired(tmp_path, uid) == 1, "completion after the last instance", tmp_path)
    study = Study.objects.get(study_instance_uid=uid)
    assert study.completed_at >= study.last_received_at + timedelta(seconds=STABLE)


# --- In process: the funnel schedules one check per period; concurrent checks fire once.


def test_a_transfer_of_many_instances_schedules_one_check(monkeypatch, tmp_path):
    scheduled = []
    monkeypatch.setattr(completeness, "_enqueue", lambda study_id, due: scheduled.append((study_id, due)))
    uid = generate_uid()
    send(tmp_path, uid, 25)
    study = Study.objects.get(study_instance_uid=uid)
    assert scheduled == [(study.pk, study.completion_due_at)]


def test_two_checks_at_once_fire_once(stable_time, tmp_path, monkeypatch):
    monkeypatch.setattr(completeness, "_enqueue", lambda study_id, due: None)
    uid = generate_uid()
    send(tmp_path, uid)
    study = Study.objects.get(study_instance_uid=uid)
    Study.objects.filter(pk=study.pk).update(last_received_at=timezone.now() - timedelta(seconds=STABLE + 1))
    received = []
    study_completed.connect(lambda sender, study, **kw: received.append(study.pk), weak=False, dispatch_uid="t2")
    barrier = threading.Barrier(4)
    results, errors = [], []

    def check():
        barrier.wait()
        try:
            results.append(completeness.study_check_completion(study_id=study.pk, due=study.completion_due_at))
        except Exception as exc:  # e.g. the server's connection limit: say so instead of a short list
            errors.append(exc)
        finally:
            connection.close()

    try:
        threads = [threading.Thread(target=check) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        study_completed.disconnect(dispatch_uid="t2")
    assert not errors, errors
    assert sorted(results) == [False, False, False, True]
    assert received == [study.pk]


def test_a_stale_check_does_nothing(stable_time, tmp_path, monkeypatch):
    monkeypatch.setattr(completeness, "_enqueue", lambda study_id, due: None)
    uid = generate_uid()
    send(tmp_path, uid)
    study = Study.objects.get(study_instance_uid=uid)
    Study.objects.filter(pk=study.pk).update(last_received_at=timezone.now() - timedelta(seconds=STABLE + 1))
    stale_due = study.completion_due_at - timedelta(seconds=5)
    assert completeness.study_check_completion(study_id=study.pk, due=stale_due) is False
    assert Study.objects.get(pk=study.pk).completed_at is None


def test_a_failing_receiver_rolls_the_completion_back_and_the_sweeper_fires_it_later(stable_time, tmp_path, monkeypatch):
    monkeypatch.setattr(completeness, "_enqueue", lambda study_id, due: None)  # the check got lost
    uid = generate_uid()
    send(tmp_path, uid)
    study = Study.objects.get(study_instance_uid=uid)
    Study.objects.filter(pk=study.pk).update(last_received_at=timezone.now() - timedelta(seconds=STABLE + 1))

    def broken(sender, study, **kwargs):
        raise RuntimeError("receiver down")

    study_completed.connect(broken, weak=False, dispatch_uid="broken")
    try:
        with pytest.raises(RuntimeError):
            completeness.study_check_completion(study_id=study.pk, due=study.completion_due_at)
    finally:
        study_completed.disconnect(dispatch_uid="broken")
    assert Study.objects.get(pk=study.pk).completion_due_at == study.completion_due_at  # still pending

    later = study.completion_due_at + timedelta(seconds=120)
    monkeypatch.setattr(completeness.timezone, "now", lambda: later)
    assert completeness.sweep_overdue(now=later) == 1
    done = Study.objects.get(pk=study.pk)
    assert done.is_complete and done.completed_at == later
