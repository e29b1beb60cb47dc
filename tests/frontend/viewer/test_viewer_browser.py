"""The viewer in Chromium with the 140-slice head CT: open it from the study page, go to slice
70 with the keyboard and compare the canvas with the server's rendering of the same slice and
window, draw a length and check its millimetres against the pixel spacing, mark a key image,
reload and find the measurement again. Screenshots of each state go to
var/test-artifacts/viewer/ (LUMEN_TEST_ARTIFACTS overrides)."""
from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from annotations.models import Annotation, KeyImage
from studies.models import Series
from studies.ordering import ordered
from tests.frontend.viewer.mpr_support import drag

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLICES = 140
PIXEL_SPACING = 0.451171875  # (0028,0030) of every slice of this series
BRAIN = (40, 80)  # the preset the hanging protocol picks for BodyPartExamined HEAD


def wait_ready(page) -> None:
    page.wait_for_selector("#viewer[data-state=ready]", timeout=60_000)


def wait_rendered(page, index: int) -> None:
    page.wait_for_selector(f".viewport.active[data-rendered='{index}']", timeout=30_000)


def canvas_image(page) -> Image.Image:
    url = page.locator(".viewport.active canvas").first.evaluate("c => c.toDataURL('image/png')")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("L")


def fitted_square(canvas: Image.Image) -> tuple[int, int, int]:
    """Where the square 512×512 image sits when fitted into the canvas: left, top, side."""
    side = min(canvas.size)
    return (canvas.width - side) // 2, (canvas.height - side) // 2, side


def as_image(canvas: Image.Image, size: int) -> np.ndarray:
    left, top, side = fitted_square(canvas)
    return np.asarray(canvas.crop((left, top, left + side, top + side)).resize((size, size), Image.BOX), dtype=float)


def rendered(page, series: Series, sop: str, window: tuple[int, int]) -> np.ndarray:
    url = (f"/dicomweb/studies/{series.study.study_instance_uid}/series/{series.series_instance_uid}"
           f"/instances/{sop}/frames/1/rendered?window={window[0]},{window[1]}&accept=image/png")
    response = page.request.get(url)
    assert response.status == 200
    return np.asarray(Image.open(io.BytesIO(response.body())).convert("L"), dtype=float)


def test_a_reader_reads_the_head_ct_measures_and_finds_the_measurement_again(page, head_ct, alice, artifacts):
    study_uid = head_ct.study.study_instance_uid
    page.goto(f"/studies/{study_uid}/")
    page.click("#open-viewer")
    wait_ready(page)
    assert page.get_attribute("#viewer", "data-protocol") == "ct"
    assert page.locator("#position").inner_text() == f"Image 1 / {SLICES}"
    assert page.locator("#preset").input_value() == "Brain"
    assert page.locator(".series-item .series-count").inner_text() == f"{SLICES} img"
    # Untrusted header text arrives as text: the overlay shows the patient name as written.
    assert page.locator(".viewport.active .overlay.tl").inner_text().startswith("HEAD\nPLASTIC")
    assert [page.locator(f".viewport.active .marker.{side}").inner_text() for side in ("top", "bottom", "left", "right")] == ["A", "P", "R", "L"]
    wait_rendered(page, 0)
    page.screenshot(path=artifacts / "1-opened.png")

    # Slice 70 with the keyboard.
    page.locator(".viewport.active .viewport-host").hover()
    for _ in range(69):
        page.keyboard.press("ArrowDown")
    assert page.locator("#position").inner_text() == f"Image 70 / {SLICES}"
    wait_rendered(page, 69)
    page.screenshot(path=artifacts / "2-slice-70.png")

    # The canvas shows what the server renders for the same slice and window (the reading
    # order is the server's: studies.ordering); it differs clearly from another slice.
    instances = list(ordered(head_ct.instances.all()))
    assert len(instances) == SLICES
    canvas = canvas_image(page)
    canvas.save(artifacts / "2-slice-70-canvas.png")
    shown = as_image(canvas, 512)
    same = np.abs(shown - rendered(page, head_ct, instances[69].sop_instance_uid, BRAIN))
    other = np.abs(shown - rendered(page, head_ct, instances[0].sop_instance_uid, BRAIN))
    print(f"canvas vs server, slice 70: mean |diff| {same.mean():.2f}, >64: {(same > 64).mean():.4f}; vs slice 1: {other.mean():.2f}")
    # Interpolation and resampling touch only edge pixels: a small mean, few large differences.
    assert same.mean() < 3, same.mean()
    assert (same > 64).mean() < 0.02, (same > 64).mean()
    assert other.mean() > 4 * same.mean() + 5, (other.mean(), same.mean())

    # A length across the image, in mm from the pixel spacing.
    page.keyboard.press("l")
    assert page.get_attribute("[data-tool=Length]", "aria-pressed") == "true"
    box = page.locator(".viewport.active .viewport-host").bounding_box()
    left, top, side = fitted_square(canvas)
    start = (box["x"] + left + side * 0.25, box["y"] + top + side * 0.5)
    end = (box["x"] + left + side * 0.75, box["y"] + top + side * 0.5)
    drag(page, start, end)
    text = page.locator(".viewport.active svg text").first
    expected = (end[0] - start[0]) * 512 / side * PIXEL_SPACING
    # The label follows the drag; on a busy machine it may still show a step of it just after
    # mouse.up (104 mm at step 9 of 10 was seen). The label it settles on must be the length.
    try:
        page.wait_for_function(
            "([t, mm]) => { const m = /^([\\d.]+) mm$/.exec(t.textContent); return m && Math.abs(parseFloat(m[1]) - mm) <= mm * 0.01 }",
            arg=[text.element_handle(), expected],
            timeout=10_000,
        )
    except PlaywrightTimeout:
        pass  # the assertion below says what the label shows instead
    measured = float(re.match(r"([\d.]+) mm", text.text_content()).group(1))
    assert measured == pytest.approx(expected, rel=0.01), (measured, expected)
    page.wait_for_function("() => document.getElementById('status').textContent === 'Measurement saved'")
    page.wait_for_timeout(300)  # the last modification of the drag, coalesced behind the first save
    page.wait_for_function("() => document.getElementById('status').textContent === 'Measurement saved'")
    saved = Annotation.objects.get(user=alice)
    assert (saved.tool, saved.sop_instance_uid, saved.frame) == ("Length", instances[69].sop_instance_uid, 1)

    # Mark the slice as a key image for the report.
    page.keyboard.press("k")
    page.wait_for_function("() => document.getElementById('key-image').getAttribute('aria-pressed') === 'true'")
    assert KeyImage.objects.get(user=alice).sop_instance_uid == instances[69].sop_instance_uid
    assert "★" in page.locator(".viewport.active .overlay.tr").inner_text()
    page.screenshot(path=artifacts / "3-length-and-key-image.png")

    # Reload: the measurement comes back from the server, on the same slice, with the same value.
    page.reload()
    wait_ready(page)
    assert page.get_attribute("#viewer", "data-restored") == "1"
    page.locator(".viewport.active .viewport-host").hover()
    page.keyboard.press("End")
    for _ in range(SLICES - 70):
        page.keyboard.press("ArrowUp")
    assert page.locator("#position").inner_text() == f"Image 70 / {SLICES}"
    wait_rendered(page, 69)
    text = page.locator(".viewport.active svg text").first
    page.wait_for_function("t => /mm$/.test(t.textContent)", arg=text.element_handle())
    assert text.text_content() == f"{measured:g} mm" or float(text.text_content().split()[0]) == pytest.approx(measured, abs=0.051)
    assert page.get_attribute("#key-image", "aria-pressed") == "true"
    page.screenshot(path=artifacts / "4-reloaded.png")
    # Restored, not saved again: drawing it recomputes its statistics, which is no change.
    assert page.locator("#status").inner_text() != "Measurement saved"
    assert list(Annotation.objects.filter(user=alice).values_list("updated_at", flat=True)) == [saved.updated_at]
