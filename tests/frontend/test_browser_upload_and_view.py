"""The whole way in Chromium: Alice logs in, uploads a ZIP of the 51-slice abdomen CT on the
upload page (a real Celery worker stores it), opens the study from the study list, opens the
series in the quick view, steps with the keys and the wheel, and changes the window."""
import re
import zipfile

import pytest

from tests.conftest import CT_ABDOMEN

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLICES = 51
# Generous: the worker stores 51 slices on a busy 2-core CI machine. Not a speed check.
UPLOAD_TIMEOUT_MS = 180_000

IMAGE_SHOWN = """(src) => {
    const image = document.getElementById("image");
    return image.getAttribute("src") === src && image.dataset.state === "loaded" && image.complete && image.naturalWidth > 0;
}"""


@pytest.fixture
def browser_page(live_server, worker, chromium):
    page = chromium.new_context(base_url=live_server.url).new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert errors == []


def shown_src(page) -> str:
    return page.locator("#image").get_attribute("src")


def wait_for_image(page, src: str) -> None:
    page.wait_for_function(IMAGE_SHOWN, arg=src)


def test_alice_uploads_a_zip_and_reads_the_series(browser_page, alice, tmp_path):
    page = browser_page
    archive = tmp_path / "abdomen.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for path in sorted(CT_ABDOMEN.iterdir()):
            z.write(path, f"CRLM/{path.name}")

    # Log in.
    page.goto("/")
    assert "/login/" in page.url
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-password-123")
    page.click("button[type=submit]")
    page.wait_for_selector("#no-results")  # her study list, empty so far

    # Upload; the worker stores the slices and the progress bar fills up.
    page.goto("/upload/")
    page.set_input_files("#pick-files", str(archive))
    page.wait_for_selector("#upload-summary:not([hidden])", timeout=UPLOAD_TIMEOUT_MS)
    assert page.locator("#upload-progress").evaluate("bar => bar.value / bar.max") == 1
    assert page.locator("#files-text").inner_text() == f"{SLICES} / {SLICES} files"
    assert page.locator("#count-stored").inner_text() == str(SLICES)

    # The study list shows it; the study page lists the series with a thumbnail that loads.
    page.click("header nav a:text-is('Studies')")
    row = page.locator("#study-table tbody tr")
    assert row.count() == 1
    assert "CRLM-CT-1006" in row.inner_text()
    row.locator("a").first.click()
    page.wait_for_selector("#series-list")
    card = page.locator(".series-card")
    assert card.count() == 1
    assert f"{SLICES} instances" in card.inner_text()
    page.wait_for_function("() => { const t = document.querySelector('.series-card img'); return t.complete && t.naturalWidth > 0; }")

    # The quick view opens on the first image of 51, with its own window (40/400 in the header).
    card.locator("a.open-series").click()
    page.wait_for_selector("#image[data-state=loaded]")
    assert page.locator("#position").inner_text() == f"Image 1 / {SLICES}"
    first = shown_src(page)
    assert re.search(r"/dicomweb/studies/[\d.]+/series/[\d.]+/instances/[\d.]+/frames/1/rendered$", first)
    wait_for_image(page, first)
    assert page.locator("#meta-patient-id").inner_text() == "CRLM-CT-1006"
    assert page.locator("#meta-slice-thickness").inner_text() == "5 mm"
    assert page.locator("#meta-window").inner_text() == "C 40 / W 400"
    location = page.locator("#meta-slice-location").inner_text()

    # → steps forward, ← back; every step shows a different, loaded image and its metadata.
    page.keyboard.press("ArrowRight")
    assert page.locator("#position").inner_text() == f"Image 2 / {SLICES}"
    second = shown_src(page)
    assert second != first
    wait_for_image(page, second)
    assert page.locator("#meta-slice-location").inner_text() != location
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.locator("#position").inner_text() == f"Image 4 / {SLICES}"
    wait_for_image(page, shown_src(page))
    page.keyboard.press("ArrowLeft")
    assert page.locator("#position").inner_text() == f"Image 3 / {SLICES}"
    page.click("#prev")
    assert page.locator("#position").inner_text() == f"Image 2 / {SLICES}"
    assert shown_src(page) == second

    # The wheel steps too.
    page.locator("#stage").hover()
    page.mouse.wheel(0, 100)
    page.wait_for_function("() => document.getElementById('position').textContent === 'Image 3 / 51'")
    wait_for_image(page, shown_src(page))

    # A preset re-renders the same image with its window.
    page.select_option("#preset", label="CT lung (C -600 / W 1500)")
    lung = shown_src(page)
    assert lung.endswith("/rendered?window=-600%2C1500%2Clinear")
    wait_for_image(page, lung)
    assert page.locator("#meta-window").inner_text() == "C -600 / W 1500"
    assert page.locator("#window-center").input_value() == "-600"

    # So does the width slider, and the window stays while stepping on.
    page.locator("#window-width").fill("700")
    page.wait_for_function("() => document.getElementById('image').getAttribute('src').endsWith('window=-600%2C700%2Clinear')")
    wait_for_image(page, shown_src(page))
    assert page.locator("#preset").input_value() == "custom"
    page.locator("#stage").focus()
    page.keyboard.press("ArrowRight")
    assert page.locator("#position").inner_text() == f"Image 4 / {SLICES}"
    assert shown_src(page).endswith("window=-600%2C700%2Clinear")
    wait_for_image(page, shown_src(page))

    # Back to the image's own window.
    page.select_option("#preset", "default")
    assert "window=" not in shown_src(page)
    wait_for_image(page, shown_src(page))
