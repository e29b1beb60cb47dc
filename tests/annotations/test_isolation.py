"""Annotations are per person: nobody sees or changes anybody else's, not even on a study both see."""
import pytest

from annotations.models import Annotation
from tests.annotations.conftest import annotation_url, annotations_url, key_images_url, length

pytestmark = pytest.mark.django_db


def test_two_readers_of_one_study_each_see_only_their_own(alice_api, admin_api, images):
    image = images["slice10"]
    assert alice_api.post(annotations_url(image.study), length(image, "same-uid", label="alice's"), format="json").status_code == 201
    # The admin picks the same UID on the same study: their own row, no conflict, no hint of Alice's.
    assert admin_api.post(annotations_url(image.study), length(image, "same-uid", label="admin's"), format="json").status_code == 201

    assert [row["label"] for row in alice_api.get(annotations_url(image.study)).json()] == ["alice's"]
    assert [row["label"] for row in admin_api.get(annotations_url(image.study)).json()] == ["admin's"]
    assert Annotation.objects.filter(uid="same-uid").count() == 2


def test_another_persons_annotation_answers_404_to_every_method(alice_api, admin_api, images):
    image = images["slice10"]
    assert alice_api.post(annotations_url(image.study), length(image, "hers"), format="json").status_code == 201
    url, missing = annotation_url(image.study, "hers"), annotation_url(image.study, "nobodys")

    for method in ("get", "delete"):
        response, expected = getattr(admin_api, method)(url), getattr(admin_api, method)(missing)
        assert (response.status_code, response.content) == (404, expected.content), method
    # PUT on her UID makes the admin's own annotation; hers is untouched.
    assert admin_api.put(url, length(image, "hers", label="admin"), format="json").status_code == 201
    assert Annotation.objects.get(uid="hers", user__username="alice").label == ""


def test_key_images_are_per_person_too(alice_api, admin_api, images):
    image = images["slice10"]
    mine = alice_api.post(key_images_url(image.study), image.body(), format="json").json()

    assert admin_api.get(key_images_url(image.study)).json() == []
    assert admin_api.delete(mine["url"]).status_code == 404
    assert alice_api.get(mine["url"]).status_code == 200
