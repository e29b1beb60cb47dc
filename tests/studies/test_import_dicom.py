"""`manage.py import_dicom`: an administrator imports folders, ZIPs and DICOMDIR media through
the ingest funnel, watches a progress bar, reads a summary, and gets exit status 1 only when
something was rejected. The given files are read, never changed."""
import hashlib
import io
import os
import shutil
import subprocess
import zipfile

import pydicom
import pytest
from django.core.management import CommandError, call_command

from studies.models import Instance, Study
from tests.conftest import CT_ABDOMEN, PYTHON, REPO, archived_files, sample, write_dicom
from tests.studies.zipbuild import zip_of

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_dicom", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def fingerprint(folder) -> dict:
    return {
        str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns, p.stat().st_mode)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_it_imports_a_folder_with_a_progress_bar_and_a_summary(data_dir):
    before = fingerprint(CT_ABDOMEN)

    out, err = run(CT_ABDOMEN)

    assert out.strip().splitlines()[-1] == "51 files: 51 stored, 0 already stored, 0 rejected, 0 skipped"
    assert "51/51" in err and "100%" in err  # the progress bar, on stderr
    assert Instance.objects.count() == 51
    assert Study.objects.get().number_of_study_related_instances == 51
    assert fingerprint(CT_ABDOMEN) == before  # read-only samples, untouched


def test_importing_again_reports_already_stored_and_succeeds(data_dir):
    run(CT_ABDOMEN)
    out, _ = run(CT_ABDOMEN, "--no-progress")
    assert out.strip() == "51 files: 0 stored, 51 already stored, 0 rejected, 0 skipped"
    assert Instance.objects.count() == 51 and len(archived_files(data_dir)) == 51


def test_it_imports_a_zip_and_lists_what_it_skipped_and_rejected(data_dir, tmp_path):
    slices = sorted(CT_ABDOMEN.iterdir())
    (tmp_path / "in").mkdir()
    archive = zip_of(
        tmp_path / "in" / "export.zip",
        [(f"ABDO/{p.name}", p) for p in slices[:10]]
        + [("ABDO/cut.dcm", slices[10].read_bytes()[:200_000]), ("ABDO/report.pdf", b"%PDF-1.4 not an image"), ("__MACOSX/ABDO/._x", b"junk")],
    )
    os.chmod(archive, 0o444)
    before = fingerprint(tmp_path / "in")

    with pytest.raises(CommandError) as failed:
        out = io.StringIO()
        call_command("import_dicom", str(archive), "--no-progress", stdout=out, stderr=io.StringIO())

    assert failed.value.returncode == 1
    assert str(failed.value) == "1 file(s) rejected"
    lines = out.getvalue().strip().splitlines()
    assert lines[-1] == "12 files: 10 stored, 0 already stored, 1 rejected, 1 skipped"
    assert any(line.startswith(f"rejected: {archive}/ABDO/cut.dcm: ") and "truncated" in line for line in lines)
    assert f"skipped: {archive}/ABDO/report.pdf: not a DICOM file" in lines
    assert Instance.objects.count() == 10
    assert fingerprint(tmp_path / "in") == before
    assert [p for p in (data_dir / "spool").rglob("*") if p.is_file()] == []  # the scratch expansion is gone


def test_a_hostile_zip_is_rejected_with_its_reason_and_nothing_is_imported(data_dir, tmp_path):
    dicom = write_dicom(tmp_path / "x.dcm").read_bytes()
    archive = zip_of(tmp_path / "slip.zip", [("ok.dcm", dicom), (zipfile.ZipInfo("../../evil.dcm"), dicom)])

    with pytest.raises(CommandError):
        out = io.StringIO()
        call_command("import_dicom", str(archive), "--no-progress", stdout=out, stderr=io.StringIO())

    assert f"rejected: {archive}: ZIP rejected: entry '../../evil.dcm' points outside the extraction folder (..)" in out.getvalue()
    assert Instance.objects.count() == 0 and archived_files(data_dir) == []
    assert not (tmp_path.parent / "evil.dcm").exists()


def test_it_imports_the_files_a_dicomdir_references(data_dir):
    dicomdir = sample("dicomdir/pydicom_dicomdirtests/DICOMDIR")

    out, _ = run(dicomdir, "--no-progress")

    lines = out.strip().splitlines()
    assert lines[-1] == "32 files: 31 stored, 0 already stored, 0 rejected, 1 skipped"
    assert lines[0].startswith(f"skipped: {dicomdir}: a DICOMDIR index")
    # Exactly the 31 referenced images: the TINY_ALPHA set beside them has its own DICOMDIR.
    assert Instance.objects.count() == 31
    referenced = {
        str(record.ReferencedSOPInstanceUIDInFile)
        for record in pydicom.dcmread(dicomdir).DirectoryRecordSequence
        if "ReferencedFileID" in record
    }
    assert set(Instance.objects.values_list("sop_instance_uid", flat=True)) == referenced


def test_a_dicomdir_cannot_reach_outside_its_folder(data_dir, tmp_path):
    media = tmp_path / "media"
    shutil.copytree(sample("dicomdir/pydicom_dicomdirtests/77654033"), media / "77654033")
    outside = write_dicom(tmp_path / "OUTSIDE")
    (media / "LINK").symlink_to(outside)
    ds = pydicom.dcmread(sample("dicomdir/pydicom_dicomdirtests/DICOMDIR"))
    images = [r for r in ds.DirectoryRecordSequence if "ReferencedFileID" in r]
    images[0].ReferencedFileID = ["..", "OUTSIDE"]
    images[1].ReferencedFileID = "/etc/passwd"
    images[2].ReferencedFileID = ["LINK"]  # a symbolic link whose target lies outside
    ds.save_as(media / "DICOMDIR")

    with pytest.raises(CommandError):
        out = io.StringIO()
        call_command("import_dicom", str(media / "DICOMDIR"), "--no-progress", stdout=out, stderr=io.StringIO())

    text = out.getvalue()
    assert "the DICOMDIR references '../OUTSIDE', a path outside its folder" in text
    assert "the DICOMDIR references '/etc/passwd', a path outside its folder" in text
    assert "the DICOMDIR references 'LINK', a path outside its folder" in text
    sop_of_outside = str(pydicom.dcmread(outside).SOPInstanceUID)
    assert not Instance.objects.filter(sop_instance_uid=sop_of_outside).exists()
    # The references that stay inside (the rest of 77654033; 98892001/3 were not copied) still work.
    assert Instance.objects.count() > 0
    assert "referenced by the DICOMDIR but missing from the media" in text


def test_a_missing_path_is_reported(data_dir, tmp_path):
    with pytest.raises(CommandError):
        out = io.StringIO()
        call_command("import_dicom", str(tmp_path / "nope"), "--no-progress", stdout=out, stderr=io.StringIO())
    assert f"rejected: {tmp_path / 'nope'}: no such file or folder" in out.getvalue()


def test_the_uploader_can_be_recorded(data_dir, alice, tmp_path):
    run(write_dicom(tmp_path / "one.dcm"), "--user", "alice", "--no-progress")
    assert Instance.objects.get().uploaded_by == alice


@pytest.mark.django_db(transaction=True)
def test_the_exit_status_says_whether_anything_was_rejected(subprocess_env, tmp_path):
    good = write_dicom(tmp_path / "good" / "1.dcm").parent
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "cut.dcm").write_bytes(write_dicom(tmp_path / "2.dcm").read_bytes()[:-40])
    command = [PYTHON, "manage.py", "import_dicom", "--no-progress"]

    ok = subprocess.run([*command, str(good)], cwd=REPO, env=subprocess_env, capture_output=True, text=True, timeout=120)
    failed = subprocess.run([*command, str(tmp_path / "bad")], cwd=REPO, env=subprocess_env, capture_output=True, text=True, timeout=120)

    assert (ok.returncode, ok.stdout.strip()) == (0, "1 files: 1 stored, 0 already stored, 0 rejected, 0 skipped")
    assert failed.returncode == 1, failed.stderr
    assert "1 files: 0 stored, 0 already stored, 1 rejected, 0 skipped" in failed.stdout
    assert "CommandError: 1 file(s) rejected" in failed.stderr
