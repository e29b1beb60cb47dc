"""ZIP safety, through the upload task Alice's ZIPs go through: a hostile ZIP is refused whole
with a clear reason and leaves nothing behind (no row, no archived file, no extracted file);
problems confined to one entry cost only that entry."""
import struct
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from studies.models import Instance, UploadItem
from studies.uploads import upload_complete, upload_job_create, upload_process, upload_receive_batch
from studies.zipsafe import ZipLimits, ZipRejected, expand_zip, is_zip
from tests.conftest import CT_ABDOMEN, archived_files, write_dicom
from tests.studies.zipbuild import encrypted_zip, symlink_entry, zip_of

pytestmark = pytest.mark.django_db


def upload_and_ingest(owner, zip_path: Path):
    """Alice's ZIP goes through the same services and task body as a web upload."""
    job = upload_job_create(owner=owner)
    upload_receive_batch(job=job, files=[(zip_path.name, SimpleUploadedFile(zip_path.name, zip_path.read_bytes()))])
    upload_complete(job=job)
    upload_process(job_id=job.id)
    job.refresh_from_db()
    return job


def items_of(job) -> dict[str, UploadItem]:
    return {item.name: item for item in job.items.all()}


def spooled_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "spool").rglob("*") if p.is_file()]


def assert_nothing_left(data_dir: Path):
    assert Instance.objects.count() == 0
    assert archived_files(data_dir) == []
    assert spooled_files(data_dir) == []


@pytest.fixture
def dicom_bytes(tmp_path) -> bytes:
    return write_dicom(tmp_path / "one.dcm").read_bytes()


@pytest.mark.parametrize(
    "name, why",
    [
        ("../evil.dcm", "points outside the extraction folder (..)"),
        ("scans/../../evil.dcm", "points outside the extraction folder (..)"),
        ("/tmp/evil.dcm", "is an absolute path"),
        ("C:/Windows/evil.dcm", "starts with a drive letter"),
        ("..\\evil.dcm", "contains a backslash"),
    ],
)
def test_it_rejects_a_zip_whose_entry_would_leave_the_extraction_folder(alice, data_dir, tmp_path, dicom_bytes, name, why):
    archive = zip_of(tmp_path / "slip.zip", [("good.dcm", dicom_bytes), (zipfile.ZipInfo(name), dicom_bytes)])
    assert name in zipfile.ZipFile(archive).namelist()  # the hostile name really is in the ZIP

    job = upload_and_ingest(alice, archive)

    item = job.items.get()
    assert item.status == UploadItem.Status.REJECTED
    assert item.reason.startswith(f"ZIP rejected: entry {name!r} {why}")
    assert job.status == job.Status.DONE
    assert_nothing_left(data_dir)
    assert not (tmp_path / "evil.dcm").exists() and not Path("/tmp/evil.dcm").exists()


def test_it_rejects_a_zip_with_a_symlink_entry(alice, data_dir, tmp_path, dicom_bytes):
    archive = zip_of(tmp_path / "link.zip", [("good.dcm", dicom_bytes), (symlink_entry("passwd.dcm"), b"/etc/passwd")])

    job = upload_and_ingest(alice, archive)

    item = job.items.get()
    assert (item.status, item.reason) == ("rejected", "ZIP rejected: entry 'passwd.dcm' is a symbolic link")
    assert_nothing_left(data_dir)


def test_it_rejects_a_zip_bomb(alice, data_dir, tmp_path, dicom_bytes):
    # 50 MB of zeros deflates to ~50 kB: a ratio near 1000, far past the default limit of 200.
    archive = zip_of(tmp_path / "bomb.zip", [("good.dcm", dicom_bytes), ("zeros.dcm", bytes(50 * 1024 * 1024))])
    assert archive.stat().st_size < 200 * 1024

    job = upload_and_ingest(alice, archive)

    item = job.items.get()
    assert item.status == "rejected"
    assert item.reason == "ZIP rejected: entry 'zeros.dcm' expands more than 200× — looks like a zip bomb"
    assert_nothing_left(data_dir)


def test_it_measures_a_bomb_by_the_bytes_it_reads_not_by_its_header(tmp_path):
    """The central directory claims 1 MB compressed for the zeros (a harmless 50×); the bytes really
    consumed are ~50 kB, and that is what the ratio is measured against."""
    archive = zip_of(tmp_path / "liar.zip", [("zeros.dcm", bytes(50 * 1024 * 1024)), ("padding.bin", bytes(range(256)) * 8192)])
    data = bytearray(archive.read_bytes())
    central = data.index(b"PK\x01\x02")  # the first central directory record: zeros.dcm
    struct.pack_into("<L", data, central + 20, 1024 * 1024)  # its compressed size
    archive.write_bytes(bytes(data))
    assert zipfile.ZipFile(archive).getinfo("zeros.dcm").compress_size == 1024 * 1024

    with pytest.raises(ZipRejected) as refused:
        expand_zip(archive, tmp_path / "out", ZipLimits(max_entries=100, max_total_bytes=10**10, max_ratio=200))

    # Python versions that check entries for overlap refuse the forged directory outright.
    assert "looks like a zip bomb" in str(refused.value) or "Overlapped entries" in str(refused.value)
    assert not (tmp_path / "out").exists()


def test_it_rejects_a_zip_that_expands_past_the_size_limit(alice, data_dir, tmp_path, settings):
    settings.LUMEN_ZIP_MAX_UNCOMPRESSED_BYTES = 3 * 1024 * 1024
    slices = sorted(CT_ABDOMEN.iterdir())[:8]  # ~4 MB of real slices, each within the ratio limit
    archive = zip_of(tmp_path / "big.zip", [(p.name, p) for p in slices])

    job = upload_and_ingest(alice, archive)

    item = job.items.get()
    assert (item.status, item.reason) == ("rejected", "ZIP rejected: it expands to 4 MB, more than the limit of 3 MB")
    assert_nothing_left(data_dir)


def test_it_counts_expanded_bytes_instead_of_trusting_declared_sizes(tmp_path):
    slices = sorted(CT_ABDOMEN.iterdir())[:8]
    archive = zip_of(tmp_path / "big.zip", [(p.name, p) for p in slices])
    data = bytearray(archive.read_bytes())
    position = 0
    while (position := data.find(b"PK\x01\x02", position + 1)) != -1:
        struct.pack_into("<L", data, position + 24, 1000)  # every entry claims to be 1000 bytes
    archive.write_bytes(bytes(data))

    entries = expand_zip(archive, tmp_path / "out", ZipLimits(max_entries=100, max_total_bytes=3 * 1024 * 1024, max_ratio=200))

    # zipfile stops each entry at its declared size, so a lie can only shorten it: the entry fails
    # its CRC and is refused alone, and nothing beyond the declared (tiny) sizes is written.
    assert {entry.status for entry in entries} == {"rejected"}
    assert all("corrupt" in entry.reason for entry in entries)
    assert list((tmp_path / "out").iterdir()) == []


def test_it_rejects_a_zip_with_too_many_entries(alice, data_dir, tmp_path, settings, dicom_bytes):
    settings.LUMEN_ZIP_MAX_ENTRIES = 5
    archive = zip_of(tmp_path / "many.zip", [(f"{n}.dcm", dicom_bytes) for n in range(6)])

    job = upload_and_ingest(alice, archive)

    item = job.items.get()
    assert (item.status, item.reason) == ("rejected", "ZIP rejected: it has 6 entries, more than the limit of 5")
    assert_nothing_left(data_dir)


def test_it_skips_an_encrypted_entry_and_stores_the_rest(alice, data_dir, tmp_path):
    secret = write_dicom(tmp_path / "secret.dcm").read_bytes()
    plain = write_dicom(tmp_path / "plain.dcm").read_bytes()
    archive = encrypted_zip(tmp_path / "locked.zip", [("secret.dcm", secret, b"hunter2"), ("plain.dcm", plain, None)])
    assert zipfile.ZipFile(archive).read("secret.dcm", pwd=b"hunter2") == secret  # really encrypted, really readable

    job = upload_and_ingest(alice, archive)

    items = items_of(job)
    assert items["locked.zip"].status == "expanded"
    assert (items["locked.zip/secret.dcm"].status, items["locked.zip/secret.dcm"].reason) == (
        "skipped",
        "encrypted (password-protected) ZIP entry, not opened",
    )
    assert items["locked.zip/plain.dcm"].status == "stored"
    assert Instance.objects.count() == 1
    assert spooled_files(data_dir) == []


def test_it_rejects_a_corrupt_zip(alice, data_dir, tmp_path, dicom_bytes):
    whole = zip_of(tmp_path / "whole.zip", [("a.dcm", dicom_bytes), ("b.dcm", dicom_bytes)]).read_bytes()
    archive = tmp_path / "cut.zip"
    archive.write_bytes(whole[: len(whole) // 2])  # the central directory is gone

    job = upload_and_ingest(alice, archive)

    item = job.items.get()
    assert item.kind == "zip"  # still recognised by its signature
    assert item.status == "rejected"
    assert item.reason.startswith("ZIP rejected: the file is not a readable ZIP archive")
    assert_nothing_left(data_dir)


def test_a_corrupt_entry_costs_only_that_entry(alice, data_dir, tmp_path):
    good = write_dicom(tmp_path / "good.dcm").read_bytes()
    damaged = write_dicom(tmp_path / "damaged.dcm").read_bytes()
    archive = zip_of(tmp_path / "mixed.zip", [("good.dcm", good), ("damaged.dcm", damaged)], compression=zipfile.ZIP_STORED)
    data = bytearray(archive.read_bytes())
    start = data.index(damaged)
    data[start + 200] ^= 0xFF  # one flipped byte: the CRC no longer matches
    archive.write_bytes(bytes(data))

    job = upload_and_ingest(alice, archive)

    items = items_of(job)
    assert items["mixed.zip/good.dcm"].status == "stored"
    assert items["mixed.zip/damaged.dcm"].status == "rejected"
    assert items["mixed.zip/damaged.dcm"].reason == "the ZIP entry is corrupt (Bad CRC-32 for file 'damaged.dcm')"
    assert spooled_files(data_dir) == []


def test_non_dicom_entries_are_skipped_and_listed_and_folders_and_mac_metadata_ignored(alice, data_dir, tmp_path, dicom_bytes):
    archive = zip_of(
        tmp_path / "mixed.zip",
        [
            (zipfile.ZipInfo("study/"), b""),
            ("study/series 1/IM0001", dicom_bytes),
            ("study/notes.txt", b"referral letter"),
            ("study/nested.zip", zip_of(tmp_path / "nested.zip", [("x.dcm", dicom_bytes)]).read_bytes()),
            ("__MACOSX/study/._IM0001", b"\x00\x05\x16\x07 AppleDouble"),
            ("study/._IM0001", b"\x00\x05\x16\x07 AppleDouble"),
        ],
    )

    job = upload_and_ingest(alice, archive)

    summary = {item.name: (item.status, item.reason) for item in job.items.exclude(status="expanded")}
    assert summary == {
        "mixed.zip/study/series 1/IM0001": ("stored", ""),
        "mixed.zip/study/notes.txt": ("skipped", "not a DICOM file"),
        "mixed.zip/study/nested.zip": ("skipped", "a ZIP inside a ZIP is not opened; extract it and send its content"),
    }
    assert spooled_files(data_dir) == []


def test_one_truncated_slice_does_not_sink_fifty_good_ones(alice, data_dir, tmp_path):
    slices = sorted(CT_ABDOMEN.iterdir())
    assert len(slices) == 51
    truncated = slices[-1].read_bytes()[:300_000]  # cut inside the pixel data
    archive = zip_of(tmp_path / "ct.zip", [(f"CT/{p.name}", p) for p in slices[:50]] + [("CT/truncated.dcm", truncated)])

    job = upload_and_ingest(alice, archive)

    items = items_of(job)
    assert sum(1 for item in items.values() if item.status == "stored") == 50
    assert items["ct.zip/CT/truncated.dcm"].status == "rejected"
    assert "truncated" in items["ct.zip/CT/truncated.dcm"].reason
    assert Instance.objects.count() == 50
    assert len(archived_files(data_dir)) == 50
    assert spooled_files(data_dir) == []


def test_a_dicom_file_whose_preamble_looks_like_a_zip_is_dicom(tmp_path):
    # CVE-2019-11687: the 128-byte preamble may hold anything, a ZIP signature included.
    path = write_dicom(tmp_path / "polyglot.dcm")
    data = bytearray(path.read_bytes())
    data[:4] = b"PK\x03\x04"
    path.write_bytes(bytes(data))
    assert not is_zip(path)
    assert is_zip(zip_of(tmp_path / "real.zip", [("a", b"a")]))
