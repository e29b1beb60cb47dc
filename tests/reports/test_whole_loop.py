"""The whole loop with real parts: Alice (referrer) uploads a ZIP through the upload API and
submits it for reading; a real Celery worker stores it and, once the study is quiet, puts it
on the worklist; Rita claims it, writes and signs with her password; Alice gets the mail (a
link, no medical content), reads the report in the portal and downloads the PDF (its text is
extracted); the worker stores the DICOM SR into the study, where pydicom, DCMTK's dsrdump
and QIDO-RS find it."""
import io
import subprocess
import time
import zipfile

import pydicom
import pypdf
import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from pydicom.uid import generate_uid

from reports.models import Report
from studies.models import Study, UploadJob
from studies.signals import study_completed
from tests.conftest import require_tool, write_dicom

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_SECONDS = 180  # a safety net for a hung worker on a busy machine, not a speed check
PASSWORD = "rita-password-123"
FINDINGS = "Consolidation in the right lower lobe, consistent with pneumonia."


@pytest.fixture
def subprocess_env(subprocess_env):
    # The worker decides completeness: one quiet second is enough here.
    return {**subprocess_env, "LUMEN_STUDY_STABLE_SECONDS": "1", "LUMEN_COMPLETION_SWEEP_SECONDS": "2"}


def wait_for(what, check, log_path):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{log_path.read_text(errors='replace')[-4000:]}")


def test_upload_worklist_sign_and_back_to_the_uploader(alice, radiologist, worker, tmp_path, settings):
    settings.LUMEN_BASE_URL = "https://pacs.example.org"
    settings.LUMEN_STUDY_STABLE_SECONDS = 1
    log = tmp_path / "worker.log"
    study_uid, series_uid = generate_uid(), generate_uid()
    archive = tmp_path / "chest.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for number in (1, 2, 3):
            path = write_dicom(tmp_path / f"{number}.dcm", StudyInstanceUID=study_uid, SeriesInstanceUID=series_uid, InstanceNumber=number,
                               PatientName="LOOP^PATIENT", PatientID="LOOP-1", StudyDescription="CT chest", Modality="CT")
            z.write(path, f"CD/IMG{number}")

    # Alice uploads and asks for a read.
    alice_client = Client()
    alice_client.force_login(alice)
    job = alice_client.post(reverse("api:upload-list"), {
        "submit_for_reading": "on", "priority": "stat", "reason_for_exam": "Fever and cough", "referring_physician": "alice",
    }).json()
    with open(archive, "rb") as fp:
        assert alice_client.post(job["files_url"], {"file": fp}).status_code == 201
    assert alice_client.post(job["complete_url"]).status_code == 200
    wait_for("the upload", lambda: UploadJob.objects.get(pk=job["id"]).status == UploadJob.Status.DONE, log)

    # The study is complete after a quiet second: the worker's completeness check puts it on the
    # worklist. (Before studies/completeness.py existed, the test fired the signal itself.)
    study = Study.objects.get(study_instance_uid=study_uid)
    if not hasattr(study, "completion_due_at"):
        study_completed.send(sender=Study, study=study)
    report = wait_for("the worklist entry", lambda: Report.objects.filter(study=study).first(), log)
    assert (report.status, report.priority, report.clinical_question) == ("unread", "stat", "Fever and cough")

    # Rita finds it on the worklist, claims, writes (autosave endpoint), signs with her password.
    rita = Client()
    rita.force_login(radiologist)
    assert "LOOP^PATIENT" in rita.get(reverse("worklist")).content.decode()
    assert rita.post(reverse("report-claim", args=[report.pk])).status_code == 302
    saved = rita.post(reverse("report-draft", args=[report.pk]), {"findings": FINDINGS}, content_type="application/json")
    assert saved.status_code == 200, saved.content
    signed = rita.post(reverse("report-sign", args=[report.pk]), {
        "findings": FINDINGS, "impression": "Pneumonia.", "kind": "final", "password": PASSWORD,
    })
    assert signed.status_code == 302 and signed.url == reverse("report-page", args=[report.pk])
    report.refresh_from_db()
    assert report.status == "final" and report.final_by == radiologist

    # Alice gets one mail with a link and nothing medical; the link needs her login.
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]
    body = mail.outbox[0].body
    link = f"https://pacs.example.org/reports/{report.pk}/"
    assert link in body
    for medical in ("Consolidation", "pneumonia", "LOOP", "CT chest", "Fever"):
        assert medical not in body and medical not in mail.outbox[0].subject
    path = link.removeprefix("https://pacs.example.org")
    assert Client().get(path).status_code == 302
    page = alice_client.get(path).content.decode()
    assert FINDINGS in page
    assert '<td class="status">reported</td>' in alice_client.get(reverse("my-uploads")).content.decode()

    # The PDF holds the findings.
    pdf = alice_client.get(reverse("report-pdf", args=[report.pk]))
    assert pdf.status_code == 200
    text = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages).split())
    assert FINDINGS in text

    # The worker stored the SR into the study: pydicom and dsrdump read it, QIDO finds it.
    report = wait_for("the SR", lambda: Report.objects.filter(pk=report.pk).exclude(sr_sop_instance_uid="").first(), log)
    sr = alice_client.get(reverse("reports-api:report-sr", args=[report.pk]))
    assert sr.status_code == 200
    sr_path = tmp_path / "report-sr.dcm"
    sr_path.write_bytes(b"".join(sr.streaming_content))
    ds = pydicom.dcmread(sr_path)
    assert ds.Modality == "SR" and ds.StudyInstanceUID == study_uid and ds.SOPInstanceUID == report.sr_sop_instance_uid
    dump = subprocess.run([require_tool("dsrdump"), "+Pl", str(sr_path)], capture_output=True, text=True, timeout=60)
    assert dump.returncode == 0 and FINDINGS in dump.stdout, dump.stderr
    qido = alice_client.get(f"/dicomweb/studies/{study_uid}/series", {"Modality": "SR"}, HTTP_ACCEPT="application/dicom+json")
    assert qido.status_code == 200
    assert [s["0020000E"]["Value"][0] for s in qido.json()] == [ds.SeriesInstanceUID]
