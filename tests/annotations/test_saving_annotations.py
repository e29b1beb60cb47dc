"""A reader saves a measurement, finds it again when the study is reopened, changes and deletes it."""
import pytest

from annotations.models import Annotation
from tests.annotations.conftest import annotation_url, annotations_url, length

pytestmark = pytest.mark.django_db


def test_a_saved_measurement_comes_back_when_the_study_is_reopened(alice_api, images):
    image = images["slice10"]
    created = alice_api.post(annotations_url(image.study), length(image, "m-1", label="lesion 1"), format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    assert created["Location"] == body["url"] and body["url"].endswith(annotation_url(image.study, "m-1"))
    assert {k: body[k] for k in ("uid", "tool", "study_instance_uid", "series_instance_uid", "sop_instance_uid", "frame", "label")} == {
        "uid": "m-1", "tool": "Length", "study_instance_uid": image.study, "series_instance_uid": image.series,
        "sop_instance_uid": image.sop, "frame": 1, "label": "lesion 1",
    }
    assert body["data"] == length(image, "m-1")["data"]

    reopened = alice_api.get(annotations_url(image.study))
    assert reopened.status_code == 200
    assert reopened.json() == [alice_api.get(body["url"]).json()]  # a plain list, every annotation at once
    assert reopened.json()[0]["data"]["data"]["cachedStats"]["imageId"]["length"] == 5.3


def test_put_replaces_a_saved_annotation_and_creates_one_it_does_not_know(alice_api, images):
    image, url = images["slice10"], annotation_url(images["slice10"].study, "m-2")

    first = alice_api.put(url, length(image, "m-2"), format="json")
    assert first.status_code == 201 and first["Location"].endswith(url)

    moved = length(images["slice20"], "m-2", label="moved")
    moved["data"]["data"]["handles"]["points"][1] = [6.0, 8.0, 0]
    second = alice_api.put(url, {k: v for k, v in moved.items() if k != "uid"}, format="json")  # the UID may be left out
    assert second.status_code == 200
    assert second.json()["sop_instance_uid"] == images["slice20"].sop and second.json()["label"] == "moved"
    assert second.json()["updated_at"] > first.json()["updated_at"]
    assert Annotation.objects.get(uid="m-2").data["data"]["handles"]["points"][1] == [6.0, 8.0, 0]
    assert Annotation.objects.count() == 1


def test_a_body_uid_other_than_the_url_is_refused(alice_api, images):
    image = images["slice10"]
    response = alice_api.put(annotation_url(image.study, "m-3"), length(image, "other"), format="json")

    assert response.status_code == 400
    assert response.json()["errors"]["uid"] == ["Must equal the annotation UID in the URL."]


def test_posting_a_uid_twice_is_a_conflict_not_a_twin(alice_api, images):
    image = images["slice10"]
    assert alice_api.post(annotations_url(image.study), length(image, "m-4"), format="json").status_code == 201
    again = alice_api.post(annotations_url(image.study), length(image, "m-4"), format="json")

    assert again.status_code == 409
    assert again.json() == {"detail": "Annotation m-4 exists on this study; PUT its URL to change it.", "code": "conflict"}
    assert Annotation.objects.filter(uid="m-4").count() == 1


def test_delete_removes_it_and_then_it_is_gone(alice_api, images):
    image = images["slice10"]
    url = alice_api.post(annotations_url(image.study), length(image, "m-5"), format="json").json()["url"]

    assert alice_api.delete(url).status_code == 204
    assert alice_api.get(url).status_code == 404
    assert alice_api.delete(url).status_code == 404
    assert alice_api.get(annotations_url(image.study)).json() == []


def test_every_tool_of_the_viewer_is_accepted_and_an_unknown_one_is_named(alice_api, images):
    from annotations.models import TOOLS

    image = images["slice0"]
    for number, tool in enumerate(TOOLS):
        response = alice_api.post(annotations_url(image.study), {**length(image, f"t-{number}"), "tool": tool}, format="json")
        assert response.status_code == 201, (tool, response.content)

    refused = alice_api.post(annotations_url(image.study), {**length(image, "t-x"), "tool": "Scribble"}, format="json")
    assert refused.status_code == 400
    message = refused.json()["errors"]["tool"][0]
    assert message.startswith('Unknown tool "Scribble". Allowed: Length, Angle,') and "ArrowAnnotate" in message
    assert {"Length", "Angle", "EllipticalROI", "RectangleROI", "Probe", "ArrowAnnotate"} <= set(TOOLS)


def test_the_annotations_of_a_study_are_listed_oldest_first_with_their_frames(alice_api, images):
    image = images["multiframe"]
    for uid, frame in (("f-2", 2), ("f-1", 1)):
        assert alice_api.post(annotations_url(image.study), {**length(image, uid), "frame": frame}, format="json").status_code == 201

    rows = alice_api.get(annotations_url(image.study)).json()
    assert [(row["uid"], row["frame"]) for row in rows] == [("f-2", 2), ("f-1", 1)]


def test_a_retried_post_with_its_idempotency_key_gets_the_first_answer(alice_api, images):
    image = images["slice10"]
    first = alice_api.post(annotations_url(image.study), length(image, "m-6"), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    retry = alice_api.post(annotations_url(image.study), length(image, "m-6"), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry["Idempotent-Replayed"] == "true" and retry.json() == first.json()
    assert Annotation.objects.filter(uid="m-6").count() == 1
