"""The quick series view: the images in slice order handed to the script through json_script,
the window presets, the metadata panel, no inline script, and 404 for what one may not see."""
import json
import random
import re

import pytest
from django.urls import reverse
from pydicom.uid import generate_uid

from studies.ingest import Origin, ingest_file
from studies.models import Series
from studies.ordering import ordered
from tests.conftest import CT_ABDOMEN, write_dicom

pytestmark = pytest.mark.django_db


def config_of(html: str) -> dict:
    match = re.search(r'<script id="series-config" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the page carries its configuration in a json_script element"
    return json.loads(match.group(1))


@pytest.fixture
def abdomen(alice) -> Series:
    """Alice's 51-slice abdomen CT, uploaded in a shuffled order."""
    files = sorted(CT_ABDOMEN.iterdir())
    random.Random(7).shuffle(files)
    for path in files:
        assert ingest_file(path, origin=Origin(user_id=alice.id)).ok
    return Series.objects.select_related("study__patient").get()


def url(series: Series) -> str:
    return reverse("series-view", args=[series.study.study_instance_uid, series.series_instance_uid])


def test_the_series_view_lists_every_slice_in_slice_order(client, alice, abdomen):
    client.force_login(alice)
    response = client.get(url(abdomen))
    assert response.status_code == 200
    config = config_of(response.content.decode())

    instances = config["instances"]
    assert len(instances) == 51
    assert [i["sop"] for i in instances] == list(ordered(abdomen.instances.all()).values_list("sop_instance_uid", flat=True))
    # Reading order is along the slice normal: the slice locations run one way, 5 mm apart.
    locations = [i["sliceLocation"] for i in instances]
    steps = {round(b - a, 3) for a, b in zip(locations, locations[1:])}
    assert len(steps) == 1 and abs(steps.pop()) == 5.0
    first = instances[0]
    assert first["frames"] == 1
    assert first["sliceThickness"] == 5.0
    assert len(first["pixelSpacing"]) == 2
    assert (first["windowCenter"], first["windowWidth"]) == (40.0, 400.0)  # from the header, see MANIFEST
    assert first["number"] == abdomen.instances.get(sop_instance_uid=first["sop"]).instance_number


def test_the_frame_url_is_the_dicomweb_rendered_resource(client, alice, abdomen):
    client.force_login(alice)
    config = config_of(client.get(url(abdomen)).content.decode())
    sop = config["instances"][0]["sop"]
    frame_url = config["frameUrl"].replace("{sop}", sop).replace("{frame}", "1")
    study, series = abdomen.study.study_instance_uid, abdomen.series_instance_uid
    assert frame_url == f"/dicomweb/studies/{study}/series/{series}/instances/{sop}/frames/1/rendered"
    rendered = client.get(frame_url, {"window": "40,400,linear"})
    assert rendered.status_code == 200 and rendered["Content-Type"].startswith("image/")


def test_the_presets_cover_the_usual_ct_windows(client, alice, abdomen):
    client.force_login(alice)
    presets = {p["name"]: (p["center"], p["width"]) for p in config_of(client.get(url(abdomen)).content.decode())["presets"]}
    assert set(presets) == {"CT brain", "CT subdural", "CT stroke", "CT lung", "CT mediastinum", "CT abdomen", "CT liver", "CT bone"}
    assert presets["CT lung"] == (-600, 1500) and presets["CT brain"] == (40, 80)


def test_the_page_has_the_controls_and_the_metadata_panel_and_no_inline_script(client, alice, abdomen):
    client.force_login(alice)
    html = client.get(url(abdomen)).content.decode()
    for element_id in ("image", "position", "prev", "next", "preset", "window-center", "window-width",
                       "meta-instance-number", "meta-slice-location", "meta-slice-thickness", "meta-pixel-spacing"):
        assert f'id="{element_id}"' in html, element_id
    assert re.search(r'<input type="range" id="window-center"', html)
    assert re.search(r'<input type="range" id="window-width"', html)
    assert 'id="meta-patient-id">CRLM-CT-1006</dd>' in html
    assert 'id="meta-patient-name">CRLM-CT-1006</dd>' in html
    assert 'id="meta-modality">CT</dd>' in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag


def test_a_multiframe_instance_counts_all_its_frames(client, alice, tmp_path):
    series_uid = generate_uid()
    study_uid = generate_uid()
    for number, frames in ((1, 3), (2, 1)):
        path = write_dicom(tmp_path / f"{number}.dcm", frames=frames, StudyInstanceUID=study_uid,
                           SeriesInstanceUID=series_uid, InstanceNumber=number)
        assert ingest_file(path, origin=Origin(user_id=alice.id)).ok
    client.force_login(alice)
    config = config_of(client.get(reverse("series-view", args=[study_uid, series_uid])).content.decode())
    assert [(i["number"], i["frames"]) for i in config["instances"]] == [(1, 3), (2, 1)]


def test_charlie_and_a_wrong_study_get_the_same_404_as_a_made_up_series(client, alice, charlie, abdomen, tmp_path):
    other = ingest_file(write_dicom(tmp_path / "other.dcm"), origin=Origin(user_id=alice.id))

    client.force_login(charlie)
    hidden = client.get(url(abdomen))
    made_up = client.get(reverse("series-view", args=["1.2.3", "4.5.6"]))
    assert hidden.status_code == made_up.status_code == 404
    assert hidden.content == made_up.content

    client.force_login(alice)
    # A real series addressed under another (visible) study is not found either.
    wrong_study = client.get(reverse("series-view", args=[other.study_instance_uid, abdomen.series_instance_uid]))
    assert wrong_study.status_code == 404 and wrong_study.content == made_up.content


def test_dicom_text_in_the_series_view_is_escaped(client, alice, tmp_path):
    result = ingest_file(
        write_dicom(tmp_path / "evil.dcm", PatientName="</script><script>alert(1)</script>^EVIL",
                    SeriesDescription="<img src=x onerror=alert(2)>"),
        origin=Origin(user_id=alice.id),
    )
    series = Series.objects.get(study__study_instance_uid=result.study_instance_uid)
    client.force_login(alice)
    html = client.get(url(series)).content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;^EVIL" in html
    config_of(html)  # still one intact json_script element


def test_the_series_view_asks_for_a_login_first(client, abdomen):
    response = client.get(url(abdomen))
    assert response.status_code == 302 and response["Location"].startswith("/login/")
