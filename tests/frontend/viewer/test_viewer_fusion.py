"""PET/CT in Chromium: the study opens fused (the hot-iron PET over the CT, coloured pixels on the
canvas), the opacity slider changes the picture, the PET reads in SUV body weight (probe), and
the RTSTRUCT's contours (drawn on the PET) appear over both views and hide per structure."""
from __future__ import annotations

import math
import re

import numpy as np
import pydicom
import pytest

from annotations.models import KeyImage
from tests.conftest import sample
from tests.frontend.viewer.mpr_support import (
    canvas_rgb,
    colored_fraction,
    ingest,
    open_viewer,
    save,
    wait_new_render,
    wait_volumes,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FUSED = ".volume-cell[data-viewport-id=fusion]"
PET = ".volume-cell[data-viewport-id=fusion-pt]"
STUDY = "1.3.6.1.4.1.14519.5.2.1.5168.1900.980314374925518526455629963929"


@pytest.fixture
def pet_ct(alice):
    assert ingest("pet_ct", alice) == 267 + 59 + 1
    return STUDY


def suv_by_hand(i: int, j: int, k: int) -> float:
    """SUVbw of voxel (column i, row j, slice k; slices by ascending z, as in the volume) from the
    PET files: (stored × slope + intercept) Bq/ml × weight / decayed dose, with the decay from
    the injection (RadiopharmaceuticalStartTime) to the series start (DecayCorrection START)."""
    images = sorted((pydicom.dcmread(p) for p in sample("pet_ct/pet").iterdir()), key=lambda d: float(d.ImagePositionPatient[2]))
    image = images[k]
    drug = image.RadiopharmaceuticalInformationSequence[0]

    def seconds(tm: str) -> float:
        return int(tm[:2]) * 3600 + int(tm[2:4]) * 60 + float(tm[4:])

    elapsed = seconds(image.SeriesTime) - seconds(drug.RadiopharmaceuticalStartTime)
    dose = float(drug.RadionuclideTotalDose) * 2 ** (-elapsed / float(drug.RadionuclideHalfLife))
    activity = float(image.pixel_array[j, i]) * float(image.RescaleSlope) + float(image.RescaleIntercept)
    return activity * float(image.PatientWeight) * 1000 / dose


def fused(tab) -> np.ndarray:
    return canvas_rgb(tab.locator(f"{FUSED} canvas").first)


def wait_corner(tab, text: str) -> None:
    """Wait until the fused view was drawn with the CT window ``text`` ("W 400  L 40")."""
    tab.wait_for_function(f"w => document.querySelector('{FUSED} .overlay.bl')?.textContent === w", arg=text, timeout=30_000)


def set_opacity(tab, percent: int) -> np.ndarray:
    before = tab.get_attribute(FUSED, "data-renders")
    tab.locator("#fusion-opacity").fill(str(percent))
    wait_new_render(tab, FUSED, before)
    tab.wait_for_timeout(200)
    return fused(tab)


def test_a_pet_ct_study_opens_fused_with_suv_and_its_structure_set(page, pet_ct, artifacts):
    open_viewer(page, pet_ct)
    assert page.get_attribute("#viewer", "data-protocol") == "pet-ct"
    assert page.get_attribute("#viewer", "data-mode") == "fusion"
    wait_volumes(page)
    assert page.get_attribute("#volume-grid", "data-suv") == "true"
    assert "SUVbw" in page.locator(f"{PET} .overlay.tl").inner_text()
    page.wait_for_timeout(500)
    half = fused(page)
    save(page, artifacts, "fusion-1-opened.png")
    print("coloured share at 50 %:", f"{colored_fraction(half):.3f}")
    assert colored_fraction(half) > 0.05  # the hot-iron PET is on the CT

    none = set_opacity(page, 0)
    full = set_opacity(page, 100)
    save(page, artifacts, "fusion-2-opacity-100.png")
    print("coloured share at 0 / 100 %:", f"{colored_fraction(none):.3f} / {colored_fraction(full):.3f}")
    assert colored_fraction(none) < 0.001  # the CT alone, grey
    assert colored_fraction(full) > colored_fraction(half) + 0.02
    assert np.abs(full - none).mean() > 10
    half = set_opacity(page, 50)

    # The toolbar's window is the CT's (opened soft tissue): a preset and the sliders change the
    # CT's grey levels under the PET; the PET's colours and the PET view keep their SUV range.
    assert page.locator("#window-value").inner_text() == "C 40 / W 400"
    assert page.locator("#preset").input_value() == "Soft tissue"
    wait_corner(page, "W 400  L 40")
    pet_view = canvas_rgb(page.locator(f"{PET} canvas").first)
    page.select_option("#preset", "Bone")
    wait_corner(page, "W 1800  L 400")
    assert page.locator("#window-value").inner_text() == "C 400 / W 1800"
    bone = fused(page)
    save(page, artifacts, "fusion-4-ct-bone-window.png")
    grey = ((half.max(axis=2) - half.min(axis=2)) < 10) & ((bone.max(axis=2) - bone.min(axis=2)) < 10) & (half.mean(axis=2) > 5)
    ct_change = np.abs(bone.mean(axis=2) - half.mean(axis=2))[grey].mean()
    print(f"CT soft tissue → bone: grey pixels change by {ct_change:.1f}; coloured share {colored_fraction(half):.3f} → {colored_fraction(bone):.3f}")
    assert ct_change > 10
    assert abs(colored_fraction(bone) - colored_fraction(half)) < 0.1 * colored_fraction(half)
    assert np.abs(canvas_rgb(page.locator(f"{PET} canvas").first) - pet_view).mean() < 0.5
    page.locator("#window-width").fill("1000")
    wait_corner(page, "W 1000  L 400")
    assert page.locator("#window-value").inner_text() == "C 400 / W 1000"

    # A probe on the PET reads SUV.
    page.click("[data-tool=Probe]")
    box = page.locator(PET).bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    text = page.locator(f"{PET} svg text").first
    page.wait_for_function("t => /SUV/.test(t.textContent)", arg=text.element_handle(), timeout=15_000)
    shown = re.match(r"\((\d+), (\d+), (\d+)\)\s*([\d.]+) SUV", text.text_content())
    i, j, k, value = int(shown[1]), int(shown[2]), int(shown[3]), float(shown[4])
    expected = suv_by_hand(i, j, k)
    print("probe:", text.text_content(), "by hand:", f"{expected:.4f}")
    # Cornerstone shows three significant digits: equal within half a unit of the third.
    assert abs(value - expected) <= 0.5 * 10 ** (math.floor(math.log10(expected)) - 2) + 1e-9, (value, expected)
    # The PET view was clicked: the window controls still show (and set) the CT's window.
    assert page.locator("#window-value").inner_text() == "C 400 / W 1000"
    # Tags and key image: the PET slice of the clicked view.
    page.keyboard.press("t")
    page.wait_for_selector("#tag-browser[open]")
    assert page.locator("#tag-table tr", has_text="(0008,0060)").first.locator("td").nth(3).inner_text() == "PT"
    page.keyboard.press("Escape")
    page.keyboard.press("k")
    page.wait_for_function("() => document.getElementById('key-image').getAttribute('aria-pressed') === 'true'")
    assert KeyImage.objects.get().instance.series.modality == "PT"

    # The RTSTRUCT (on the PET) over both views, its structures listed with their colours.
    page.click("#overlay-list .overlay-load")
    page.wait_for_selector("#overlay-list li[data-shown=true]")
    assert page.locator(".segment-list").inner_text().split("\n") == ["GTV_Mass", "GTV_Edema"]
    page.wait_for_function(f"() => Number(document.querySelector('{FUSED} svg.contour-overlay')?.dataset.drawn) > 0")
    drawn = int(page.get_attribute(f"{FUSED} svg.contour-overlay", "data-drawn"))
    assert page.locator(f"{FUSED} svg.contour-overlay polygon").count() == drawn
    save(page, artifacts, "fusion-3-rtstruct.png")
    page.locator(".segment-list input[data-segment]").first.uncheck()
    fewer = int(page.get_attribute(f"{FUSED} svg.contour-overlay", "data-drawn"))
    assert fewer < drawn

    # Back to the stack: the window controls show its window again.
    page.click("#mode-fusion")
    assert page.get_attribute("#viewer", "data-mode") == "stack"
    width, level = re.match(r"W (\d+)  L (-?\d+)", page.locator(".viewport.active .overlay.bl").inner_text()).groups()
    assert page.locator("#window-value").inner_text() == f"C {level} / W {width}" != "C 400 / W 1000"
    # Fused again: the structure set is drawn over the new views, the hidden structure still hidden.
    page.click("#mode-fusion")
    wait_volumes(page)
    page.wait_for_function(f"n => document.querySelector('{FUSED} svg.contour-overlay')?.dataset.drawn === String(n)", arg=fewer)
    page.locator(".segment-list input[data-segment]").first.check()
    assert int(page.get_attribute(f"{FUSED} svg.contour-overlay", "data-drawn")) == drawn
    save(page, artifacts, "fusion-5-rtstruct-fused-again.png")
