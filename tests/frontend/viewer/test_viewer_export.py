"""Export in Chromium: the viewport as a PNG download (a valid PNG of the canvas, with the
measurements drawn over it), and the stack as a cine loop recorded to a WebM video
(canvas.captureStream + MediaRecorder), the measurements drawn into its frames too."""
from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from tests.frontend.viewer.mpr_support import canvas_rgb, drag, open_viewer, save


def export_png(page) -> tuple[str, bytes]:
    with page.expect_download() as download:
        page.click("#export-png")
    return download.value.suggested_filename, download.value.path().read_bytes()


def coloured(rgb: np.ndarray) -> np.ndarray:
    """Pixels with colour (the image is grey; Cornerstone draws annotations in yellow or green)."""
    return (rgb.max(axis=2) - rgb.min(axis=2)) > 60


FRAME_AT_JS = """async ([b64, seconds]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const video = document.createElement('video');
  video.muted = true;
  video.src = URL.createObjectURL(new Blob([bytes], { type: 'video/webm' }));
  await new Promise((ok, ko) => { video.onloadeddata = ok; video.onerror = () => ko(new Error('not decodable')); });
  // Drawn right after loadeddata, Chromium gives a black frame; after a seek, the frame.
  video.currentTime = seconds;
  await new Promise((ok) => { video.onseeked = ok; });
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const context = canvas.getContext('2d');
  context.drawImage(video, 0, 0);
  return [canvas.width, canvas.height, Array.from(context.getImageData(0, 0, canvas.width, canvas.height).data)];
}"""


def video_frame(page, video: bytes, seconds: float) -> np.ndarray:
    """The frame of a WebM shown at ``seconds``, as RGB (decoded by Chromium on a blank page)."""
    player = page.context.new_page()
    try:
        width, height, rgba = player.evaluate(FRAME_AT_JS, [base64.b64encode(video).decode(), seconds])
    finally:
        player.close()
    return np.asarray(rgba, dtype=float).reshape(height, width, 4)[:, :, :3]


def draw_length_across(page):
    """A length drawn across the middle of the active viewport (30% to 70% of its width), saved:
    the canvas locator, its box and the line's y, x0 and x1 in page pixels."""
    page.keyboard.press("l")
    canvas = page.locator(".viewport.active canvas").first
    box = canvas.bounding_box()
    y = box["y"] + box["height"] * 0.5
    x0, x1 = box["x"] + box["width"] * 0.3, box["x"] + box["width"] * 0.7
    drag(page, (x0, y), (x1, y))
    page.wait_for_function("() => document.getElementById('status').textContent === 'Measurement saved'")
    return canvas, box, y, x0, x1


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

    name, png = export_png(page)
    (artifacts / "export-slice-70.png").write_bytes(png)
    assert name.endswith("-70.png")
    assert "PLASTIC" not in name and "HEAD" not in name  # no PHI in file names
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
    height, width = video_frame(page, video, 0.001).shape[:2]
    assert (width, height) == (on_screen.shape[1], on_screen.shape[0])
    # The reader is back on the slice they were reading.
    page.wait_for_selector(".viewport.active[data-rendered='69']")
    save(page, artifacts, "export-done.png")


# Stacks draw on Cornerstone's CPU path here (software WebGL, renderBackend.ts) into a canvas of
# CSS pixels; on WebGL (?render=gpu) the canvas has the screen's device pixels.
@pytest.mark.parametrize(("device_scale_factor", "query"), [(1, ""), (2, "?render=gpu")])
def test_the_png_has_the_measurements_drawn_over_the_image(page, head_ct, artifacts, device_scale_factor, query):
    """A length across the image: the PNG has its line and label (the SVG layer over the canvas,
    at the canvas's device-pixel scale), the canvas not."""
    open_viewer(page, head_ct.study.study_instance_uid, query)
    page.wait_for_selector(".viewport.active[data-rendered='0']")
    canvas, box, y, x0, x1 = draw_length_across(page)
    page.wait_for_function("() => /mm$/.test(document.querySelector('.viewport.active svg text')?.textContent ?? '')")
    plain = canvas_rgb(canvas)
    _, png = export_png(page)
    (artifacts / f"export-length-x{device_scale_factor}.png").write_bytes(png)
    measured = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)
    assert measured.shape == plain.shape
    scale = plain.shape[1] / box["width"]  # device pixels per CSS pixel
    assert scale == pytest.approx(device_scale_factor, abs=0.01)
    row = round((y - box["y"]) * scale)
    columns = slice(round((x0 - box["x"]) * scale) + 10, round((x1 - box["x"]) * scale) - 10)
    line_in_png = coloured(measured[row - 2 : row + 3, columns]).any(axis=0).mean()
    line_in_canvas = coloured(plain[row - 2 : row + 3, columns]).any(axis=0).mean()
    print(f"×{device_scale_factor}: columns of the line with annotation colour: PNG {line_in_png:.2f}, canvas {line_in_canvas:.2f}")
    assert line_in_png > 0.9 and line_in_canvas < 0.05
    # The label is there too (its text right of the line's end), and elsewhere the PNG is the canvas.
    label = coloured(measured[row - int(20 * scale) : row + int(20 * scale), columns.stop + int(10 * scale) :]).sum()
    assert label > 20 * scale**2, label
    away = np.ones(plain.shape[:2], dtype=bool)
    away[row - int(40 * scale) : row + int(40 * scale), :] = False
    assert np.abs(measured - plain)[away].mean() < 1


def test_the_cine_video_has_the_measurements_drawn_over_the_images(page, head_ct, artifacts):
    """A length on the first image: the video's first frame (the first image) shows its line, as
    the PNG export does; the canvas alone has no colour there."""
    open_viewer(page, head_ct.study.study_instance_uid)
    page.wait_for_selector(".viewport.active[data-rendered='0']")
    canvas, box, y, x0, x1 = draw_length_across(page)
    plain = canvas_rgb(canvas)

    page.fill("#cine-fps", "60")
    with page.expect_download(timeout=120_000) as download:
        page.click("#export-cine")
    video = download.value.path().read_bytes()
    (artifacts / "export-cine-length.webm").write_bytes(video)
    first, later = video_frame(page, video, 0.001), video_frame(page, video, 1.0)  # images 1 and ~60 (60 fps)
    Image.fromarray(first.astype(np.uint8)).save(artifacts / "export-cine-length-first-frame.png")
    height, width = first.shape[:2]
    assert (width, height) == (plain.shape[1], plain.shape[0])
    row = round((y - box["y"]) * width / box["width"])
    columns = slice(round((x0 - box["x"]) * width / box["width"]) + 10, round((x1 - box["x"]) * width / box["width"]) - 10)

    def line(rgb: np.ndarray) -> float:
        # VP8/VP9 keep colour at half resolution: the thin line is paler than in the PNG, still coloured.
        band = rgb[row - 3 : row + 4, columns]
        return ((band.max(axis=2) - band.min(axis=2)) > 40).any(axis=0).mean()

    print(f"columns of the line with annotation colour: video's first frame {line(first):.2f}, "
          f"a later frame {line(later):.2f}, the canvas {line(plain):.2f}")
    assert line(first) > 0.8 and line(plain) < 0.05
    assert line(later) < 0.05  # the length belongs to the first image only
