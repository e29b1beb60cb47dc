"""A DICOM SEG in Chromium: fetched through WADO-RS and shown as a coloured labelmap over the CT
slices it was drawn on; its segment is listed and a toggle hides it."""
from __future__ import annotations

import pytest

from tests.frontend.viewer.mpr_support import (
    canvas_rgb,
    colored_fraction,
    ingest,
    open_viewer,
    save,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STUDY = "1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1"


def shown(tab):
    return canvas_rgb(tab.locator(".viewport.active canvas").first)


def test_a_seg_labelmap_covers_the_liver_and_its_toggle_hides_it(page, alice, artifacts):
    assert ingest("seg/dcmqi_liver", alice) == 4  # three CT slices and the SEG
    open_viewer(page, STUDY)
    page.wait_for_selector(".viewport.active[data-rendered='0']")
    assert colored_fraction(shown(page)) == 0  # a grey CT
    assert page.locator("#overlay-list .overlay-load").inner_text() == "SEG Liver Segmentation"

    page.click("#overlay-list .overlay-load")
    page.wait_for_selector("#overlay-list li[data-shown=true]")
    assert page.locator(".segment-list").inner_text().strip() == "Liver"
    page.wait_for_function("() => document.querySelector('.viewport.active').dataset.rendered !== undefined")
    page.wait_for_timeout(500)
    with_liver = colored_fraction(shown(page))
    save(page, artifacts, "seg-1-liver.png")
    print("coloured share with the liver segment:", f"{with_liver:.3f}")
    assert with_liver > 0.03  # the liver, about a tenth of the canvas

    page.locator(".segment-list input[data-segment]").uncheck()
    page.wait_for_timeout(500)
    save(page, artifacts, "seg-2-hidden.png")
    assert colored_fraction(shown(page)) < 0.001
    page.locator(".segment-list input[data-segment]").check()
    page.wait_for_timeout(500)
    assert colored_fraction(shown(page)) == pytest.approx(with_liver, abs=0.01)
