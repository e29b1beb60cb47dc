"""The image endpoints over HTTP: the REST frame image and series thumbnail, and the DICOMweb
rendered and thumbnail resources. Alice uploaded the study; Charlie, an outsider, must not
be able to tell it exists; the admin sees everything."""
import base64
import io

import numpy as np
import pytest
from django.urls import reverse
from PIL import Image
from pydicom.uid import generate_uid

from studies.models import Instance
from studies.ordering import ordered
from tests.conftest import SAMPLES
from tests.studies.test_rendering_support import decoded, image_dataset, store, store_file

pytestmark = pytest.mark.django_db

IMMUTABLE = "private, max-age=31536000, immutable"


@pytest.fixture
def ct(tmp_path, alice):
    """Alice's three-slice CT series (HU −1000 … 1000 in each), plus a structured report."""
    study, series = generate_uid(), generate_uid()
    hu = np.tile(np.linspace(-1000, 1000, 64), (48, 1))
    slices = []
    for z in (3, 1, 2):  # stored out of order on purpose
        ds = image_dataset(
            (hu + 1024 + z).astype(np.uint16), slope=1, intercept=-1024, study_uid=study, series_uid=series,
            WindowCenter=40, WindowWidth=400, ImagePositionPatient=[0, 0, z], ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
        )
        slices.append(store(ds, tmp_path / "ct", alice))
    sr = image_dataset(np.zeros((1, 1), np.uint16), study_uid=study, sop_class="1.2.840.10008.5.1.4.1.1.88.11")
    for keyword in ("Rows", "Columns", "PixelData"):
        delattr(sr, keyword)
    report = store(sr, tmp_path / "sr", alice)
    return {"slices": slices, "sr": report}


def image_url(instance, frame=1):
    return reverse("api:frame-image", args=[*uids(instance), frame])


def rendered_url(instance, frames=None):
    if frames is None:
        return reverse("dicomweb:rendered-instance", args=uids(instance))
    return reverse("dicomweb:rendered-frame", args=[*uids(instance), frames])


def uids(instance):
    return instance.series.study.study_instance_uid, instance.series.series_instance_uid, instance.sop_instance_uid


def opened(response) -> Image.Image:
    return Image.open(io.BytesIO(response.content))


# --- REST -------------------------------------------------------------------------------------


def test_alice_gets_a_jpeg_of_her_slice_by_default(client, alice, ct):
    client.force_login(alice)
    response = client.get(image_url(ct["slices"][0]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert opened(response).size == (64, 48)
    assert response["Cache-Control"] == IMMUTABLE
    assert response["ETag"].startswith('"')


def test_alice_gets_a_png_with_format_png_and_it_has_the_files_window(client, alice, ct):
    client.force_login(alice)
    response = client.get(image_url(ct["slices"][0]), {"format": "png"})

    assert response["Content-Type"] == "image/png"
    row = decoded(response.content)[0]
    assert row[0] == 0 and row[-1] == 255  # −1000 HU black, 1000 HU white in the file's 40/400
    assert 0 < row[32] < 255


def test_a_preset_is_the_same_image_as_its_window_and_differs_from_other_presets(client, alice, ct):
    client.force_login(alice)
    url = image_url(ct["slices"][0])
    lung = client.get(url, {"preset": "lung", "format": "png"})
    same = client.get(url, {"window": "-600,1500", "format": "png"})
    bone = client.get(url, {"preset": "bone", "format": "png"})

    assert lung.status_code == same.status_code == bone.status_code == 200
    assert lung.content == same.content and lung["ETag"] == same["ETag"]
    assert bone.content != lung.content and bone["ETag"] != lung["ETag"]


def test_a_repeated_request_with_the_etag_gets_304_and_keeps_the_cache_headers(client, alice, ct):
    client.force_login(alice)
    url = image_url(ct["slices"][1])
    first = client.get(url, {"preset": "brain"})
    again = client.get(url, {"preset": "brain"}, HTTP_IF_NONE_MATCH=first["ETag"])
    other_window = client.get(url, {"preset": "lung"}, HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]
    assert again["Cache-Control"] == IMMUTABLE
    assert other_window.status_code == 200



def test_under_the_overwrite_policy_a_replaced_image_is_asked_for_again_and_sent_anew(client, alice, tmp_path, settings):
    """LUMEN_DUPLICATE_POLICY=overwrite: the same SOP Instance UID sent again with other pixels
    replaces the stored image. Browsers are told to ask each time (no-cache), and asking with the
    old ETag gets the new image, not a 304."""
    settings.LUMEN_DUPLICATE_POLICY = "overwrite"
    client.force_login(alice)
    ds = image_dataset(np.full((48, 64), 100, np.uint16), WindowCenter=128, WindowWidth=256)
    url = image_url(store(ds, tmp_path / "first", alice))
    first = client.get(url, {"format": "png"})
    ds.PixelData = np.full((48, 64), 200, np.uint16).tobytes()
    store(ds, tmp_path / "again", alice)

    again = client.get(url, {"format": "png"}, HTTP_IF_NONE_MATCH=first["ETag"])

    assert first["Cache-Control"] == again["Cache-Control"] == "private, no-cache"
    assert again.status_code == 200 and again["ETag"] != first["ETag"]
    assert np.asarray(opened(again)).mean() > np.asarray(opened(first)).mean()

@pytest.mark.parametrize(
    "query, message",
    [
        ({"window": "40"}, "center,width"),
        ({"window": "forty,400"}, "numbers"),
        ({"window": "40,0"}, "at least 1"),
        ({"window": "40,400,cubic"}, "linear"),
        ({"preset": "kidney"}, "known presets"),
        ({"preset": "lung", "window": "40,400"}, "not both"),
        ({"format": "gif"}, "jpeg or png"),
        ({"quality": "0"}, "1 to 100"),
    ],
)
def test_bad_parameters_are_a_400_that_says_what_is_wrong(client, alice, ct, query, message):
    client.force_login(alice)
    response = client.get(image_url(ct["slices"][0]), query)

    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_a_frame_that_does_not_exist_is_a_404_with_a_reason(client, alice, ct):
    client.force_login(alice)
    response = client.get(image_url(ct["slices"][0], frame=2))

    assert response.status_code == 404
    assert "1 frame" in response.json()["detail"]


def test_a_report_has_no_image_to_render(client, alice, ct):
    client.force_login(alice)
    response = client.get(image_url(ct["sr"]))

    assert response.status_code == 404
    assert "no pixel data" in response.json()["detail"]


def test_charlie_cannot_tell_alices_slice_from_one_that_does_not_exist(client, charlie, ct):
    client.force_login(charlie)
    study, series, sop = uids(ct["slices"][0])
    hidden = client.get(image_url(ct["slices"][0]))
    missing = client.get(reverse("api:frame-image", args=[study, series, generate_uid(), 1]))
    hidden_thumb = client.get(reverse("api:series-thumbnail", args=[study, series]))
    missing_thumb = client.get(reverse("api:series-thumbnail", args=[study, generate_uid()]))

    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content
    assert hidden_thumb.status_code == missing_thumb.status_code == 404
    assert hidden_thumb.content == missing_thumb.content


def test_the_admin_sees_alices_slice(client, admin_user, ct):
    client.force_login(admin_user)

    assert client.get(image_url(ct["slices"][0])).status_code == 200


def test_anonymous_requests_get_no_image(client, ct):
    for url in (image_url(ct["slices"][0]), reverse("api:series-thumbnail", args=uids(ct["slices"][0])[:2])):
        response = client.get(url)
        assert response.status_code == 401, url  # the REST API challenges (WWW-Authenticate: Bearer)
        assert not response["Content-Type"].startswith("image/")
    dicomweb = client.get(rendered_url(ct["slices"][0]))
    assert dicomweb.status_code == 401  # DICOMweb challenges instead (studies/dicomweb/auth.py)
    assert "Basic" in dicomweb["WWW-Authenticate"]


def test_a_viewer_without_a_session_may_use_basic_authentication_on_dicomweb(client, alice, ct):
    credentials = base64.b64encode(b"alice:alice-password-123").decode()
    response = client.get(rendered_url(ct["slices"][0], "1"), HTTP_AUTHORIZATION=f"Basic {credentials}")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"


def test_the_series_thumbnail_is_the_small_middle_slice_in_reading_order(client, alice, ct):
    client.force_login(alice)
    study, series, _ = uids(ct["slices"][0])
    response = client.get(reverse("api:series-thumbnail", args=[study, series]), {"format": "png"})

    middle = list(ordered(Instance.objects.filter(series__series_instance_uid=series, rows__gt=0)))[1]
    assert middle.image_position_patient == [0, 0, 2]
    direct = client.get(reverse("dicomweb:thumbnail-instance", args=uids(middle)), HTTP_ACCEPT="image/png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert max(opened(response).size) <= 128
    assert response.content == direct.content
    assert "immutable" not in response["Cache-Control"]  # the middle moves while a series arrives
    assert response["Cache-Control"].startswith("private")


# --- DICOMweb ---------------------------------------------------------------------------------


def test_dicomweb_rendered_takes_its_media_type_from_accept(client, alice, ct):
    client.force_login(alice)
    url = rendered_url(ct["slices"][0], "1")

    assert client.get(url)["Content-Type"] == "image/jpeg"
    assert client.get(url, HTTP_ACCEPT="image/png")["Content-Type"] == "image/png"
    assert client.get(url, HTTP_ACCEPT="image/webp, image/*;q=0.5")["Content-Type"] == "image/jpeg"
    assert client.get(url, {"accept": "image/png"}, HTTP_ACCEPT="image/jpeg")["Content-Type"] == "image/png"
    refused = client.get(url, HTTP_ACCEPT="application/dicom")
    assert refused.status_code == 406
    assert "image/jpeg" in refused.json()["detail"]
    assert "Accept" in client.get(url)["Vary"]


def test_dicomweb_window_parameter_is_center_width_function(client, alice, ct):
    client.force_login(alice)
    url = rendered_url(ct["slices"][0], "1")
    linear = client.get(url, {"window": "40,400,linear"}, HTTP_ACCEPT="image/png")
    sigmoid = client.get(url, {"window": "40,400,sigmoid"}, HTTP_ACCEPT="image/png")
    file_default = client.get(url, HTTP_ACCEPT="image/png")

    assert linear.status_code == sigmoid.status_code == 200
    assert linear.content == file_default.content  # the file's own window is 40/400
    assert sigmoid.content != linear.content
    assert client.get(url, {"window": "40,400,cubic"}).status_code == 400


def test_dicomweb_instance_rendered_is_its_first_frame(client, alice, ct):
    client.force_login(alice)
    whole = client.get(rendered_url(ct["slices"][2]), HTTP_ACCEPT="image/png")
    first = client.get(rendered_url(ct["slices"][2], "1"), HTTP_ACCEPT="image/png")

    assert whole.status_code == 200
    assert whole.content == first.content
    assert whole["ETag"] == first["ETag"]


def test_dicomweb_frame_errors_are_400_with_a_message(client, alice, ct):
    client.force_login(alice)
    slice_ = ct["slices"][0]

    for frames, message in (("2", "1 frame"), ("0", "1 frame"), ("1,2", "exactly one frame"), ("x", "positive integer")):
        response = client.get(rendered_url(slice_, frames))
        assert response.status_code == 400, frames
        assert message in response.json()["detail"]
    report = client.get(rendered_url(ct["sr"]))
    assert report.status_code == 404 and "no pixel data" in report.json()["detail"]


def test_dicomweb_rendered_honours_if_none_match(client, alice, ct):
    client.force_login(alice)
    url = rendered_url(ct["slices"][0], "1")
    first = client.get(url, {"viewport": "32,32"})

    assert opened(first).size == (32, 24)
    again = client.get(url, {"viewport": "32,32"}, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again["Cache-Control"] == IMMUTABLE


def test_charlie_gets_the_same_404_from_dicomweb_for_alices_study_and_a_made_up_one(client, charlie, ct):
    client.force_login(charlie)
    study, series, sop = uids(ct["slices"][0])
    made_up = generate_uid()
    pairs = [
        (rendered_url(ct["slices"][0], "1"), reverse("dicomweb:rendered-frame", args=[made_up, series, sop, "1"])),
        (reverse("dicomweb:thumbnail-instance", args=[study, series, sop]), reverse("dicomweb:thumbnail-instance", args=[made_up, series, sop])),
        (reverse("dicomweb:thumbnail-series", args=[study, series]), reverse("dicomweb:thumbnail-series", args=[made_up, series])),
        (reverse("dicomweb:thumbnail-study", args=[study]), reverse("dicomweb:thumbnail-study", args=[made_up])),
    ]
    for hidden_url, missing_url in pairs:
        hidden, missing = client.get(hidden_url), client.get(missing_url)
        assert hidden.status_code == missing.status_code == 404, hidden_url
        assert hidden.content == missing.content


def test_dicomweb_thumbnails_for_instance_frame_series_and_study(client, alice, ct):
    client.force_login(alice)
    study, series, sop = uids(ct["slices"][0])
    urls = [
        reverse("dicomweb:thumbnail-instance", args=[study, series, sop]),
        reverse("dicomweb:thumbnail-frame", args=[study, series, sop, "1"]),
        reverse("dicomweb:thumbnail-series", args=[study, series]),
        reverse("dicomweb:thumbnail-study", args=[study]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "image/jpeg"
        assert opened(response).size == (64, 48)  # already small: thumbnails never enlarge
    assert opened(client.get(urls[0], {"viewport": "16,16"})).size == (16, 12)


def test_a_large_image_gets_a_128_pixel_thumbnail(client, alice, tmp_path):
    instance = store_file(sorted((SAMPLES / "ct_series" / "crlm_ct_1006_abdomen_5mm").iterdir())[0], alice)
    client.force_login(alice)
    response = client.get(reverse("dicomweb:thumbnail-instance", args=uids(instance)))

    assert response.status_code == 200
    assert opened(response).size == (128, 128)


def test_an_undecodable_file_is_a_clear_422_not_a_server_error(client, alice):
    instance = store_file(SAMPLES / "compressed" / "one_per_transfer_syntax" / "1.2.840.10008.1.2.4.51.dcm", alice)
    client.force_login(alice)

    for response in (client.get(image_url(instance)), client.get(rendered_url(instance))):
        assert response.status_code == 422
        assert "cannot be decoded" in response.json()["detail"]
