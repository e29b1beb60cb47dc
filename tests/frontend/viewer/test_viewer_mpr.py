"""MPR in Chromium (software WebGL) on the 140-slice head CT: three orthographic views of the
volume with visibly different orientations, the crosshair moving the other two views, and a
thick-slab MIP that changes the picture. Screenshots go to var/test-artifacts/viewer/."""
from __future__ import annotations

import numpy as np
import pytest

from tests.frontend.viewer.mpr_support import (
    bbox_aspect,
    canvas_rgb,
    gray,
    open_viewer,
    save,
    wait_new_render,
    wait_volumes,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CELLS = {"axial": ".volume-cell[data-viewport-id=mpr-axial]", "coronal": ".volume-cell[data-viewport-id=mpr-coronal]", "sagittal": ".volume-cell[data-viewport-id=mpr-sagittal]"}


def views(tab) -> dict[str, np.ndarray]:
    return {name: gray(canvas_rgb(tab.locator(f"{sel} canvas").first)) for name, sel in CELLS.items()}


def renders(tab) -> dict[str, str | None]:
    return {name: tab.get_attribute(sel, "data-renders") for name, sel in CELLS.items()}


def test_mpr_shows_axial_coronal_and_sagittal_and_the_crosshair_moves_the_other_views(page, head_ct, artifacts):
    open_viewer(page, head_ct.study.study_instance_uid)
    page.wait_for_selector(".viewport.active[data-rendered='0']")
    page.click("#mode-mpr")
    wait_volumes(page)
    assert page.get_attribute("#viewer", "data-mode") == "mpr"
    assert page.get_attribute("#mode-mpr", "aria-pressed") == "true"
    assert [page.get_attribute(sel, "data-orientation") for sel in CELLS.values()] == ["axial", "coronal", "sagittal"]
    for sel in CELLS.values():
        page.wait_for_selector(f"{sel}[data-renders]")
    page.wait_for_timeout(500)  # the last frames of the volume are drawn
    save(page, artifacts, "mpr-1-three-views.png")
    shown = views(page)
    for name, image in shown.items():
        print(name, image.shape, f"mean {image.mean():.1f} sd {image.std():.1f} bright {(image > 30).mean():.3f} aspect {bbox_aspect(image):.2f}")
        assert image.std() > 20 and (image > 30).mean() > 0.02, f"{name} is blank"
    # Three different pictures, not one image three times.
    for a, b in (("axial", "coronal"), ("axial", "sagittal"), ("coronal", "sagittal")):
        assert np.abs(shown[a] - shown[b]).mean() > 5, (a, b)
    # Orientation from the shape of the head: 231 mm across in every view, but only 140 mm
    # (the scanned range) top to bottom in the coronal and sagittal views.
    assert 0.8 < bbox_aspect(shown["axial"]) < 1.25
    assert bbox_aspect(shown["coronal"]) < 0.8 and bbox_aspect(shown["sagittal"]) < 0.8

    # Clicking in the axial view moves the crosshair there: the coronal and sagittal views
    # now cut the volume through the clicked point.
    before = renders(page)
    box = page.locator(CELLS["axial"]).bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.62, box["y"] + box["height"] * 0.62)
    wait_new_render(page, CELLS["coronal"], before["coronal"])
    wait_new_render(page, CELLS["sagittal"], before["sagittal"])
    page.wait_for_timeout(300)
    moved = views(page)
    save(page, artifacts, "mpr-2-crosshair-moved.png")
    for name in ("coronal", "sagittal"):
        change = np.abs(moved[name] - shown[name]).mean()
        print(name, "changed by", f"{change:.2f}")
        assert change > 2, name

    # The arrow keys scroll the clicked (axial) view, not the stack hidden underneath.
    before = renders(page)
    for _ in range(8):
        page.keyboard.press("ArrowDown")
    wait_new_render(page, CELLS["axial"], before["axial"])
    page.wait_for_timeout(300)
    scrolled = views(page)
    assert np.abs(scrolled["axial"] - moved["axial"]).mean() > 1
    assert page.locator("#position").inner_text() == "Image 1 / 140"
    moved = scrolled

    # A 20 mm maximum intensity slab: the axial picture gains the brightest voxels of 20 slices.
    before = renders(page)
    page.locator("#slab-thickness").fill("20")
    assert page.locator("#slab-value").inner_text() == "20 mm"
    wait_new_render(page, CELLS["axial"], before["axial"])
    page.wait_for_timeout(300)
    slab = views(page)
    save(page, artifacts, "mpr-3-mip-20mm.png")
    print("MIP: axial mean", f"{moved['axial'].mean():.1f} → {slab['axial'].mean():.1f}")
    assert slab["axial"].mean() > moved["axial"].mean() + 1
    assert np.abs(slab["axial"] - moved["axial"]).mean() > 1

    # Back to the stack.
    page.click("#mode-mpr")
    assert page.get_attribute("#viewer", "data-mode") == "stack"
    assert page.locator(".volume-cell").count() == 0
    assert page.locator("#viewport-grid").is_visible()
