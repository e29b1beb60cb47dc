"""MPR in Chromium (software WebGL) on the 140-slice head CT: three orthographic views of the
volume with visibly different orientations, the crosshair moving the other two views, a
thick-slab MIP that changes the picture, and a measurement on a reformatted view saved and
shown again. Screenshots go to var/test-artifacts/viewer/."""
from __future__ import annotations

import re

import numpy as np
import pytest

from annotations.models import Annotation, KeyImage
from tests.frontend.viewer.mpr_support import (
    bbox_aspect,
    canvas_rgb,
    drag,
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


def corners(tab) -> list[str]:
    """The window each view shows in its lower left corner."""
    return [tab.locator(f"{sel} .overlay.bl").inner_text() for sel in CELLS.values()]


def wait_corners(tab, text: str) -> None:
    """Wait until the three views were drawn with the window ``text`` ("W 80  L 40")."""
    tab.wait_for_function("w => { const c = [...document.querySelectorAll('.volume-cell .overlay.bl')]; return c.length === 3 && c.every((n) => n.textContent === w) }", arg=text, timeout=30_000)


def object_grey(image: np.ndarray) -> float:
    """The commonest grey level of the object (above the black of air)."""
    values = image[(image > 20) & (image < 250)].round().astype(int)
    return float(np.bincount(values).argmax()) if values.size else 0.0


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


def test_the_toolbar_window_sets_the_three_views_and_tags_and_key_images_follow_the_clicked_view(page, head_ct, artifacts):
    open_viewer(page, head_ct.study.study_instance_uid)
    page.wait_for_selector(".viewport.active[data-rendered='0']")
    page.click("#mode-mpr")
    wait_volumes(page)
    # MPR opens with the stack's window (Brain, C 40 / W 80); each view shows the window it was
    # drawn with in its corner. The stack's own view actions are off; the mouse tools stay on.
    wait_corners(page, "W 80  L 40")
    assert page.locator("#window-value").inner_text() == "C 40 / W 80"
    assert page.locator("[data-action=invert]").is_disabled() and page.locator("[data-tool=Length]").is_enabled()
    brain = views(page)

    # The Bone preset (key 3) sets the three views together.
    page.keyboard.press("3")
    page.wait_for_function("() => document.getElementById('window-value').textContent === 'C 400 / W 1800'")
    assert page.locator("#preset").input_value() == "Bone"
    assert (page.locator("#window-center").input_value(), page.locator("#window-width").input_value()) == ("400", "1800")
    wait_corners(page, "W 1800  L 400")
    bone = views(page)
    save(page, artifacts, "mpr-4-bone-preset.png")
    for name in CELLS:
        print(name, f"Brain → Bone: mean |diff| {np.abs(bone[name] - brain[name]).mean():.1f}, object grey {object_grey(brain[name]):.0f} → {object_grey(bone[name]):.0f}")
        assert np.abs(bone[name] - brain[name]).mean() > 2, name
    # One window in the three views: the same material comes out the same grey in each.
    levels = [object_grey(bone[name]) for name in CELLS]
    assert max(levels) - min(levels) < 12, levels

    # Shift + drag (W/L) in the coronal view: the sliders and the readout follow, and the three
    # views keep one window.
    box = page.locator(CELLS["coronal"]).bounding_box()
    x, y = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5
    page.keyboard.down("Shift")
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 6):
        page.mouse.move(x - 12 * step, y + 8 * step)
    page.mouse.up()
    page.keyboard.up("Shift")
    page.wait_for_function("() => document.getElementById('window-value').textContent !== 'C 400 / W 1800'")
    readout = page.locator("#window-value").inner_text()
    print("after the drag:", readout)
    center, width = (int(v) for v in re.match(r"C (-?\d+) / W (\d+)$", readout).groups())
    assert (page.locator("#window-center").input_value(), page.locator("#window-width").input_value()) == (str(center), str(width))
    wait_corners(page, f"W {width}  L {center}")
    assert page.locator("#preset").input_value() == ""
    save(page, artifacts, "mpr-5-window-dragged.png")

    # Tags and key images come from the clicked view when it shows an acquired (axial) slice; the
    # coronal reformat has no such image and says so (the hidden stack is left alone).
    page.keyboard.press("t")
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('No tags to show: the view is a reformat')")
    assert not page.locator("#tag-browser").is_visible()
    box = page.locator(CELLS["axial"]).bounding_box()
    page.keyboard.down("Shift")  # a click that moves no crosshair
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.keyboard.up("Shift")
    page.keyboard.press("t")
    page.wait_for_selector("#tag-browser[open]")
    sop = page.locator("#tag-table tr", has_text="(0008,0018)").first.locator("td").nth(3).inner_text()
    save(page, artifacts, "mpr-6-tags-of-the-axial-slice.png")
    page.keyboard.press("Escape")
    instances = dict(head_ct.instances.values_list("sop_instance_uid", "instance_number"))
    print("tags of the axial view: instance", instances[sop])
    assert 60 <= instances[sop] <= 81  # the middle of the volume, where MPR opens (not the stack's image 1)
    page.keyboard.press("k")
    page.wait_for_function("() => document.getElementById('key-image').getAttribute('aria-pressed') === 'true'")
    assert [k.sop_instance_uid for k in KeyImage.objects.all()] == [sop]
    # A slab is not one image: not a key image.
    page.locator("#slab-thickness").fill("10")
    page.locator("#slab-thickness").blur()  # keys typed on a slider are the slider's
    page.keyboard.press("k")
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Not a key image: the view is a slab')")
    assert KeyImage.objects.count() == 1

    # Back to the stack: the controls act on it again and show its window.
    page.click("#mode-mpr")
    assert page.get_attribute("#viewer", "data-mode") == "stack"
    assert page.locator("#window-value").inner_text() == "C 40 / W 80"
    assert page.locator("[data-action=invert]").is_enabled() and page.locator("[data-tool=Length]").is_enabled()
    page.keyboard.press("2")
    page.wait_for_function("() => document.querySelector('.viewport.active .overlay.bl').textContent.startsWith('W 1500  L -600')")
    assert page.locator("#window-value").inner_text() == "C -600 / W 1500"


def length_label(tab, cell: str) -> float:
    text = tab.locator(f"{cell} svg text").first
    tab.wait_for_function("t => /^[\\d.]+ mm$/.test(t.textContent)", arg=text.element_handle(), timeout=30_000)
    return float(text.text_content().split()[0])


def test_a_length_on_the_coronal_view_is_saved_on_the_nearest_slice_and_back_after_a_reload(page, head_ct, alice, artifacts):
    open_viewer(page, head_ct.study.study_instance_uid)
    page.wait_for_selector(".viewport.active[data-rendered='0']")
    page.click("#mode-mpr")
    wait_volumes(page)
    page.wait_for_selector(f"{CELLS['coronal']}[data-renders]")
    page.keyboard.press("l")  # the Length tool on the left button, in MPR as on stacks
    assert page.get_attribute("[data-tool=Length]", "aria-pressed") == "true"
    box = page.locator(f"{CELLS['coronal']} canvas").first.bounding_box()
    y = box["y"] + box["height"] * 0.45
    x0, x1 = box["x"] + box["width"] * 0.35, box["x"] + box["width"] * 0.65
    drag(page, (x0, y), (x1, y))
    page.wait_for_function("() => document.getElementById('status').textContent === 'Measurement saved'")
    page.wait_for_timeout(300)  # the drag's last modification, coalesced behind the first save
    page.wait_for_function("() => document.getElementById('status').textContent === 'Measurement saved'")
    measured = length_label(page, CELLS["coronal"])
    save(page, artifacts, "mpr-7-coronal-length.png")

    # Saved on the CT's acquired slice nearest to it, marked as drawn on a reformat, with its
    # points in patient coordinates: the label is their distance.
    saved = Annotation.objects.select_related("instance__series").get(user=alice)
    assert saved.tool == "Length" and saved.data["reformat"] is True
    assert saved.instance.series.series_instance_uid == head_ct.series_instance_uid
    first, second = (np.array(p, dtype=float) for p in saved.data["data"]["handles"]["points"])
    assert measured == pytest.approx(np.linalg.norm(second - first), abs=0.06)
    assert abs(first[0] - second[0]) > 10 and abs(first[1] - second[1]) < 0.01  # across, on a coronal plane
    slice_z = float(saved.instance.dicom_json["00200032"]["Value"][2])
    assert abs(slice_z - first[2]) <= 0.51  # 1 mm slices: the nearest one

    # Reload: not on the stack (it belongs to no acquired image); back on the coronal view.
    page.reload()
    page.wait_for_selector("#viewer[data-state=ready]", timeout=90_000)
    page.wait_for_selector("#viewer[data-restored='1']")
    assert page.locator(".viewport.active svg text").count() == 0
    page.click("#mode-mpr")
    wait_volumes(page)
    assert length_label(page, CELLS["coronal"]) == pytest.approx(measured, abs=0.06)
    assert page.locator(f"{CELLS['axial']} svg text").count() == 0
    save(page, artifacts, "mpr-8-coronal-length-reloaded.png")
    assert list(Annotation.objects.filter(user=alice).values_list("updated_at", flat=True)) == [saved.updated_at]
