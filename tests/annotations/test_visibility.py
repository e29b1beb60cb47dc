"""The one visibility rule: a study someone may not see answers exactly like one that does not
exist, on every route and method, and only the audit trail knows the difference."""
import pytest
from django.urls import reverse

from annotations.models import Annotation, KeyImage
from audit.models import Action, AuditEvent
from tests.annotations.conftest import Image, annotation_url, annotations_url, key_images_url, length

pytestmark = pytest.mark.django_db

NOWHERE = "1.2.826.0.1.3680043.8.498.999"


def _calls(image: Image):
    key_image = reverse("annotations:key-image-detail", args=[image.study, 1])
    return [
        ("get", annotations_url(image.study), None),
        ("post", annotations_url(image.study), length(image, "x-1")),
        ("get", annotation_url(image.study, "x-1"), None),
        ("put", annotation_url(image.study, "x-1"), length(image, "x-1")),
        ("delete", annotation_url(image.study, "x-1"), None),
        ("get", key_images_url(image.study), None),
        ("post", key_images_url(image.study), image.body()),
        ("get", key_image, None),
        ("delete", key_image, None),
    ]


@pytest.mark.parametrize("client_name, foreign", [("charlie_api", "slice10"), ("rita_api", "slice10"), ("alice_api", "pool")])
def test_a_foreign_study_answers_like_a_study_that_does_not_exist(request, images, client_name, foreign):
    client = request.getfixturevalue(client_name)
    image = images[foreign]
    missing = Image(NOWHERE, image.series, image.sop)
    denied_before = AuditEvent.objects.filter(action=Action.ACCESS_DENIED).count()

    for (method, url, body), (_, missing_url, missing_body) in zip(_calls(image), _calls(missing)):
        response = getattr(client, method)(url, body, format="json")
        expected = getattr(client, method)(missing_url, missing_body, format="json")
        assert response.status_code == 404, (method, url)
        assert (response.content, response["Content-Type"]) == (expected.content, expected["Content-Type"]), (method, url)

    assert Annotation.objects.count() == KeyImage.objects.count() == 0
    denials = AuditEvent.objects.filter(action=Action.ACCESS_DENIED).order_by("id")[denied_before:]
    # One row per request on the real study, none for the UID that exists nowhere.
    assert [row.study_uid for row in denials] == [image.study] * len(_calls(image))


def test_a_visible_study_of_the_pool_is_open_to_the_radiologist(rita_api, images):
    image = images["pool"]
    assert rita_api.post(annotations_url(image.study), length(image, "r-1"), format="json").status_code == 201
    assert rita_api.post(key_images_url(image.study), image.body(), format="json").status_code == 201
    assert not AuditEvent.objects.filter(action=Action.ACCESS_DENIED).exists()


def test_an_image_of_another_study_is_refused_with_a_message(alice_api, images):
    own, other = images["slice10"], images["pool"]
    body = length(own, "x-2") | {"series_instance_uid": other.series, "sop_instance_uid": other.sop}

    response = alice_api.post(annotations_url(own.study), body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"sop_instance_uid": [f"No instance {other.sop} in series {other.series} of this study."]}

    # The right SOP under the wrong series of the same study is not that image either.
    mixed = length(own, "x-3") | {"series_instance_uid": images["multiframe"].series}
    assert alice_api.post(annotations_url(own.study), mixed, format="json").status_code == 400
    assert alice_api.post(key_images_url(own.study), other.body(), format="json").status_code == 400
    assert Annotation.objects.count() == KeyImage.objects.count() == 0


def test_a_frame_the_image_does_not_have_is_refused(alice_api, images):
    multi, single = images["multiframe"], images["slice10"]
    assert alice_api.post(annotations_url(multi.study), length(multi, "x-4") | {"frame": 2}, format="json").status_code == 201

    response = alice_api.post(annotations_url(multi.study), length(multi, "x-5") | {"frame": 3}, format="json")
    assert response.status_code == 400 and response.json()["errors"]["frame"] == ["Frame 3 is outside this instance's frames 1-2."]
    assert alice_api.post(key_images_url(single.study), single.body(frame=2), format="json").status_code == 400
    assert alice_api.post(key_images_url(single.study), single.body(frame=0), format="json").status_code == 400


def test_without_credentials_every_route_answers_401(client, images):
    for method, url, body in _calls(images["slice10"]):
        response = getattr(client, method)(url, body, content_type="application/json")
        assert response.status_code == 401, (method, url)
        assert response.json()["code"] == "not_authenticated"


def test_a_study_uid_with_a_nul_is_refused_before_any_lookup(alice_api, images):
    # pacs/middleware.py: no UID holds a NUL, so this says nothing about which studies exist.
    for url in ("/api/studies/%00/annotations/", f"/api/studies/{images['slice10'].study}%00/key-images/"):
        response = alice_api.get(url)
        assert response.status_code == 400, url
        assert response.json()["detail"] == "NUL characters are not allowed in the URL."


def test_a_foreign_study_answers_404_before_the_body_is_read(charlie_api, images):
    response = charlie_api.post(annotations_url(images["slice10"].study), {"uid": "not valid"}, format="json")
    assert response.status_code == 404 and response.json() == {"detail": "No such study", "code": "not_found"}
