"""Two studies of one patient side by side in Chromium (the PET/CT's CT and an MR of the thigh,
different frames of reference): scrolling one scrolls the other by patient position (mm along
the normal, not image index), and the study picker lists the patient's studies (QIDO-RS)."""
from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from studies.ingest import Origin, ingest_file
from tests.conftest import sample
from tests.frontend.viewer.mpr_support import ingest, open_viewer, save

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PET_CT = "1.3.6.1.4.1.14519.5.2.1.5168.1900.980314374925518526455629963929"
MR = "1.3.6.1.4.1.14519.5.2.1.5168.1900.288970202012734437880691548623"


def positions(folder: str) -> np.ndarray:
    """Each image's position along the normal, in the viewer's reading order (server ordering)."""
    from studies.models import Series
    from studies.ordering import ordered

    first = pydicom.dcmread(next(sample(folder).iterdir()), stop_before_pixels=True)
    series = Series.objects.get(series_instance_uid=first.SeriesInstanceUID)
    iop = np.array(first.ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    by_sop = {pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID: p for p in sample(folder).iterdir()}
    return np.array([np.dot(np.array(pydicom.dcmread(by_sop[i.sop_instance_uid], stop_before_pixels=True).ImagePositionPatient, dtype=float), normal) for i in ordered(series.instances.all())])


def test_scrolling_one_study_scrolls_the_other_by_position(page, alice, artifacts):
    ingest("pet_ct", alice)
    ingest("mr_series/sts_001_t2_fatsat", alice)
    open_viewer(page, PET_CT, f"?compare={MR}")
    assert page.get_attribute("#viewer", "data-protocol") == "compare"
    assert page.get_attribute("#viewer", "data-mode") == "stack"  # compared studies are not fused
    assert page.get_attribute("#sync-toggle", "aria-pressed") == "true"
    left, right = ".viewport[data-index='0']", ".viewport[data-index='1']"
    page.wait_for_selector(f"{left}[data-rendered='0']")
    page.wait_for_selector(f"{right}[data-rendered='0']")
    assert "CT" in page.locator(f"{left} .overlay.tr").inner_text() and "MR" in page.locator(f"{right} .overlay.tr").inner_text()

    ct, mr = positions("pet_ct/ct"), positions("mr_series/sts_001_t2_fatsat")
    page.locator(f"{left} .viewport-host").click()
    for _ in range(10):
        page.keyboard.press("ArrowDown")
    # Linked where they opened (image 1 beside image 1): the MR moves as many mm as the CT.
    moved = ct[10] - ct[0]
    expected = int(np.argmin(np.abs(mr - (mr[0] + moved))))
    print(f"CT moved {moved:.2f} mm; MR image {expected + 1} expected ({mr[expected] - mr[0]:.2f} mm)")
    assert expected not in (0, 10)  # by position, not by index
    page.wait_for_selector(f"{right}[data-rendered='{expected}']")
    assert f"Image {expected + 1} / 40" in page.locator(f"{right} .overlay.tr").inner_text()
    save(page, artifacts, "compare-1-synced.png")

    # Unlinked, the MR stays where it is.
    page.click("#sync-toggle")
    assert page.get_attribute("#sync-toggle", "aria-pressed") == "false"
    page.locator(f"{left} .viewport-host").click()
    page.keyboard.press("ArrowDown")
    page.wait_for_selector(f"{left}[data-rendered='11']")
    page.wait_for_timeout(300)
    assert page.get_attribute(right, "data-rendered") == str(expected)

    # The study picker lists both studies of STS_001, the open ones ticked.
    page.click("#compare-studies")
    page.wait_for_selector("#study-picker[open]")
    rows = page.locator("#study-list li").all_inner_texts()
    assert len(rows) == 2 and rows[0].startswith("2000-09-07") and rows[1].startswith("2000-09-03")
    assert page.locator("#study-list input:checked").count() == 2
    save(page, artifacts, "compare-2-picker.png")


def test_two_ct_studies_of_the_patient_share_the_window(page, alice, tmp_path, artifacts):
    ingest("pet_ct/ct", alice)
    # An earlier CT of the same patient, made here from the sample's slices: another study in
    # another frame of reference, 40 mm further along the table.
    earlier, series, frame_of_reference = generate_uid(), generate_uid(), generate_uid()
    for path in sorted(sample("pet_ct/ct").iterdir()):
        ds = pydicom.dcmread(path)
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = earlier, series, frame_of_reference
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.StudyDate = ds.SeriesDate = "20000101"
        x, y, z = (float(v) for v in ds.ImagePositionPatient)
        ds.ImagePositionPatient = [x, y, z + 40]
        ds.save_as(tmp_path / f"{ds.SOPInstanceUID}.dcm")
        assert ingest_file(tmp_path / f"{ds.SOPInstanceUID}.dcm", origin=Origin(user_id=alice.id)).ok
    open_viewer(page, PET_CT, f"?compare={earlier}")
    left, right = ".viewport[data-index='0']", ".viewport[data-index='1']"
    page.wait_for_selector(f"{right}[data-rendered='0']")
    page.locator(f"{left} .viewport-host").hover()
    page.keyboard.press("2")  # lung on the left …
    page.wait_for_function(f"() => document.querySelector(\"{right} .overlay.bl\").textContent.startsWith('W 1500  L -600')")
    assert page.locator(f"{left} .overlay.bl").inner_text().startswith("W 1500  L -600")  # … and on the right
    for _ in range(5):
        page.keyboard.press("ArrowDown")
    page.wait_for_selector(f"{right}[data-rendered='5']")  # 5 × 3.27 mm on both, whatever the table offset
    save(page, artifacts, "compare-3-window-shared.png")
