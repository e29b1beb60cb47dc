"""Export in Chromium: the viewport as a PNG download (a valid PNG of the canvas), and the stack as
a cine loop recorded to a WebM video (canvas.captureStream + MediaRecorder)."""
from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from tests.frontend.viewer.mpr_support import canvas_rgb, open_viewer, save

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EBML = bytes.fromhex("1a45dfa3")  # the first bytes of every WebM (Matroska) file


def test_the_viewport_downloads_as_png_and_the_stack_as_a_webm_cine_loop(page, head_ct, artifacts):
    open_viewer(page, head_ct.study.study_instance_uid)
    page.wait_for_selector(".viewport.active[data-rendered='0']")
    page.locator(".viewport.active .viewport-host").hover()
    for _ in range(69):
        page.keyboard.press("ArrowDown")
    page.wait_for_selector(".viewport.active[data-rendered='69']")
    on_screen = canvas_rgb(page.locator(".viewport.active canvas").first)

    with page.expect_download() as download:
        page.click("#export-png")
    png = download.value.path().read_bytes()
    (artifacts / "export-slice-70.png").write_bytes(png)
    assert download.value.suggested_filename.endswith("-70.png")
    assert "PLASTIC" not in download.value.suggested_filename and "HEAD" not in download.value.suggested_filename  # no PHI in file names
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    exported = np.asarray(image.convert("RGB"), dtype=float)
    assert exported.shape == on_screen.shape
    assert np.abs(exported - on_screen).mean() < 1  # the picture on the canvas

    page.fill("#cine-fps", "60")
    with page.expect_download(timeout=120_000) as download:
        page.click("#export-cine")
    video = download.value.path().read_bytes()
    (artifacts / "export-cine.webm").write_bytes(video)
    print(f"WebM of 140 images at 60 fps: {len(video) / 1e6:.2f} MB")
    assert download.value.suggested_filename.endswith(".webm")
    assert video[:4] == EBML and len(video) > 50_000
    assert page.locator("#status").inner_text() == "Exported 140 images as WebM"
    # Chromium plays it back: a video of the viewport's size (decoded on a blank page, no CSP there).
    player = page.context.new_page()
    width, height = player.evaluate(
        """async (b64) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const video = document.createElement('video');
          video.muted = true;
          video.src = URL.createObjectURL(new Blob([bytes], { type: 'video/webm' }));
          await new Promise((ok, ko) => { video.onloadeddata = ok; video.onerror = () => ko(new Error('not decodable')); });
          return [video.videoWidth, video.videoHeight];
        }""",
        base64.b64encode(video).decode(),
    )
    player.close()
    assert (width, height) == (on_screen.shape[1], on_screen.shape[0])
    # The reader is back on the slice they were reading.
    page.wait_for_selector(".viewport.active[data-rendered='69']")
    save(page, artifacts, "export-done.png")
