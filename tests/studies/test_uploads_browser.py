"""The upload page in Chromium: Alice picks files, a whole folder, or drops files; upload.js sends
them in batches, follows the progress and shows the per-file summary with links to her studies.
A real Celery worker (the ``worker`` fixture of tests/conftest.py) does the ingest."""
import base64
import shutil

import pytest
from django.test import Client

from studies.models import Instance, UploadJob
from tests.conftest import CT_ABDOMEN, write_dicom

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



@pytest.fixture
def page(live_server, worker, alice, chromium):
    client = Client()
    client.force_login(alice)
    context = chromium.new_context(base_url=live_server.url)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/upload/")
    yield page
    assert errors == []


def summary_rows(page) -> list[tuple[str, str, str]]:
    rows = page.locator("#summary-files tr")
    return [tuple(rows.nth(i).locator("td").all_inner_texts()) for i in range(rows.count())]


def test_alice_picks_files_and_sees_them_stored(page, alice, tmp_path):
    first, second = write_dicom(tmp_path / "IM1"), write_dicom(tmp_path / "IM2", PatientName="O'BRIEN^<b>bold</b>", PatientID="P-2")
    hostile = tmp_path / '<img src=x onerror="window.pwned=1">.txt'
    hostile.write_text("not an image")

    page.set_input_files("#pick-files", [str(first), str(second), str(hostile)])
    page.wait_for_selector("#upload-summary:not([hidden])")

    assert page.locator("#count-stored").inner_text() == "2"
    assert page.locator("#count-skipped").inner_text() == "1"
    assert page.locator("#upload-progress").evaluate("bar => [bar.value, bar.max]") == [3, 3]
    assert page.locator("#files-text").inner_text() == "3 / 3 files"
    assert sorted(summary_rows(page)) == sorted(
        [("IM1", "Stored", ""), ("IM2", "Stored", ""), (hostile.name, "Skipped", "not a DICOM file")]
    )
    # Names are text, never markup.
    assert page.evaluate("window.pwned") is None
    assert page.locator("#summary-files img").count() == 0
    links = page.locator("#summary-studies a")
    assert links.count() == 2
    names = links.all_inner_texts()
    assert any("O'BRIEN^<b>bold</b>" in name for name in names), names
    hrefs = {links.nth(i).get_attribute("href") for i in range(2)}
    assert hrefs == {f"/studies/{uid}/" for uid in Instance.objects.values_list("series__study__study_instance_uid", flat=True)}
    assert UploadJob.objects.get().owner == alice


def test_alice_uploads_a_whole_folder_in_several_batches(page, settings, tmp_path):
    folder = tmp_path / "CT ABDOMEN"
    (folder / "series 2").mkdir(parents=True)
    for path in sorted(CT_ABDOMEN.iterdir())[:12]:
        shutil.copy(path, folder / "series 2" / path.name)
    (folder / "README.txt").write_text("exported")
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 5  # the page then sends at most 5 files per request
    page.reload()
    batches = []
    page.on("request", lambda request: batches.append(request.url) if request.url.endswith("/files") else None)

    page.set_input_files("#pick-folder", str(folder))
    page.wait_for_selector("#upload-summary:not([hidden])")

    assert len(batches) == 3  # 13 files, 5 at a time
    rows = summary_rows(page)
    assert len(rows) == 13
    assert ("CT ABDOMEN/README.txt", "Skipped", "not a DICOM file") in rows
    assert sum(1 for name, status, _ in rows if status == "Stored" and name.startswith("CT ABDOMEN/series 2/")) == 12
    assert page.locator("#send-progress").evaluate("bar => bar.value === bar.max")
    assert Instance.objects.count() == 12


def test_alice_drops_files_on_the_drop_zone(page, tmp_path):
    payload = base64.b64encode(write_dicom(tmp_path / "dropped.dcm").read_bytes()).decode()

    page.evaluate(
        """(payload) => {
            const bytes = Uint8Array.from(atob(payload), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "dropped.dcm"));
            transfer.items.add(new File(["hello"], "note.txt"));
            const zone = document.getElementById("drop-zone");
            zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true, cancelable: true}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        payload,
    )
    page.wait_for_selector("#upload-summary:not([hidden])")

    assert sorted(summary_rows(page)) == [("dropped.dcm", "Stored", ""), ("note.txt", "Skipped", "not a DICOM file")]


def test_an_upload_over_the_limit_is_stopped_before_sending(page, settings, tmp_path):
    settings.LUMEN_UPLOAD_MAX_BYTES = 100_000
    page.reload()
    big = tmp_path / "big.dcm"
    big.write_bytes(bytes(150_000))

    page.set_input_files("#pick-files", [str(big)])

    error = page.locator("#upload-error")
    error.wait_for()
    assert error.inner_text() == "These files add up to 147 kB, more than the 98 kB one upload may hold. Send them in several uploads."
    assert UploadJob.objects.count() == 0
