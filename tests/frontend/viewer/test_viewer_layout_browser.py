"""The viewer in Chromium with a small generated chest CT (a 12-slice axial series and a
2-image scout): the hanging protocol opens the axial series with the lung window, the 2×2
layout adds empty viewports, a series dragged from the panel fills one, the tag browser
finds a tag, an ellipse measures in HU through the rescale, cine steps through the stack.
Screenshots go to var/test-artifacts/viewer/."""
from __future__ import annotations

import pytest
from pydicom.uid import generate_uid

from studies.ingest import Origin, ingest_file
from studies.models import Study
from tests.conftest import write_dicom
from tests.frontend.viewer.mpr_support import drag

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



@pytest.fixture
def viewport_size() -> dict:
    return {"width": 1400, "height": 900}


@pytest.fixture
def chest_ct(alice, tmp_path) -> Study:
    """64×64 slices of air: stored value 0, rescaled to -1000 HU."""
    study_uid, axial_uid, scout_uid = generate_uid(), generate_uid(), generate_uid()
    common = dict(StudyInstanceUID=study_uid, PatientName="LUNG^TEST", PatientID="CT-7", Rows=64, Columns=64,
                  PixelSpacing=[0.7, 0.7], RescaleIntercept=-1000, RescaleSlope=1, BodyPartExamined="CHEST",
                  ImageOrientationPatient=[1, 0, 0, 0, 1, 0], WindowCenter=40, WindowWidth=400)
    files = [write_dicom(tmp_path / f"axial{z}.dcm", SeriesInstanceUID=axial_uid, SeriesNumber=2, InstanceNumber=z + 1,
                         SeriesDescription="Chest 1mm", ImagePositionPatient=[0, 0, z], SliceThickness=1, **common) for z in range(12)]
    files += [write_dicom(tmp_path / f"scout{n}.dcm", SeriesInstanceUID=scout_uid, SeriesNumber=1, InstanceNumber=n + 1,
                          SeriesDescription="Scout", ImagePositionPatient=[0, 0, 100 + n], **common) for n in range(2)]
    for path in files:
        assert ingest_file(path, origin=Origin(user_id=alice.id)).ok
    return Study.objects.get()


def series_in(page, index: int) -> str | None:
    return page.locator(f".viewport[data-index='{index}']").get_attribute("data-series")


def test_a_reader_arranges_the_viewports_and_measures_in_hu(page, chest_ct, artifacts):
    axial = chest_ct.series.get(series_number=2)
    scout = chest_ct.series.get(series_number=1)
    page.goto(f"/studies/{chest_ct.study_instance_uid}/viewer/")
    page.wait_for_selector("#viewer[data-state=ready]", timeout=60_000)

    # CT: the largest series alone, with the lung window for a chest.
    assert page.locator(".series-item").count() == 2
    assert page.get_attribute("#viewer", "data-protocol") == "ct"
    assert page.locator("#viewport-grid").get_attribute("data-layout") == "1x1"
    assert series_in(page, 0) == axial.series_instance_uid
    assert page.locator("#preset").input_value() == "Lung"
    assert page.locator("#window-value").inner_text() == "C -600 / W 1500"
    page.screenshot(path=artifacts / "chest-1-hung.png")

    # 2×2 adds three empty viewports; dragging the scout into the fourth shows it there.
    page.click("[data-layout='2x2']")
    assert page.locator("#viewport-grid .viewport").count() == 4
    assert series_in(page, 3) is None
    page.drag_and_drop(f".series-item[data-series-uid='{scout.series_instance_uid}']", "#viewport-grid .viewport[data-index='3']")
    page.wait_for_selector(f".viewport[data-index='3'][data-series='{scout.series_instance_uid}'][data-rendered]")
    page.wait_for_function("() => document.querySelector(\".viewport[data-index='3'] .overlay.tr\").textContent.includes('Image 1 / 2')")
    page.wait_for_function("() => document.getElementById('position').textContent === 'Image 1 / 2'")  # the stack bar follows the active viewport
    page.screenshot(path=artifacts / "chest-2-layout-2x2-dragged.png")
    # Back to one viewport: the first one stays, and is active again.
    page.click("[data-layout='1x1']")
    assert page.locator("#viewport-grid .viewport").count() == 1
    assert series_in(page, 0) == axial.series_instance_uid
    assert page.locator("#position").inner_text() == "Image 1 / 12"

    # The tag browser of the current image finds the pixel spacing and the patient's name as text.
    page.keyboard.press("t")
    page.fill("#tag-search", "pixelspacing")
    rows = page.locator("#tag-table tbody tr")
    assert rows.count() == 1
    assert rows.first.inner_text() == "(0028,0030)\tPixelSpacing\tDS\t0.7\\0.7"
    page.fill("#tag-search", "00100010")
    assert rows.first.inner_text() == "(0010,0010)\tPatientName\tPN\tLUNG^TEST"
    page.screenshot(path=artifacts / "chest-3-tags.png")
    page.click("#tag-browser button[aria-label=Close]")
    assert not page.locator("#tag-browser").is_visible()

    # An ellipse: its area in mm² and its mean in HU (stored 0, intercept -1000).
    page.click("[data-tool=EllipticalROI]")
    box = page.locator(".viewport.active .viewport-host").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    drag(page, (cx - 60, cy - 40), (cx + 60, cy + 40))
    page.wait_for_function("() => [...document.querySelectorAll('.viewport.active svg text')].some(t => / HU$/.test(t.textContent))")
    texts = page.locator(".viewport.active svg text tspan").all_text_contents()  # one line each
    assert any(t.startswith("Area:") and t.endswith("mm²") for t in texts), texts
    assert "Mean: -1000 HU" in texts and "Std Dev: 0 HU" in texts, texts
    page.screenshot(path=artifacts / "chest-4-ellipse.png")

    # Cine steps through the stack on its own, and stops.
    page.fill("#cine-fps", "30")
    page.click("#cine-play")
    page.wait_for_function("() => !document.querySelector('.viewport.active .overlay.tr').textContent.includes('Image 1 / 12')")
    page.click("#cine-play")
    assert page.get_attribute("#cine-play", "aria-pressed") == "false"
