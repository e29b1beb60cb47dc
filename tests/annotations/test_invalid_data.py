"""What the server keeps is bounded and storable: a JSON object of at most 64 KB, a body of at
most 128 KB, well-formed UIDs, and text PostgreSQL can hold."""
import json

import pytest

from annotations.models import Annotation
from annotations.services import MAX_DATA_BYTES
from tests.annotations.conftest import annotation_url, annotations_url, length

pytestmark = pytest.mark.django_db


def _post(client, image, **changes):
    return client.post(annotations_url(image.study), length(image, "d-1") | changes, format="json")


def test_data_over_64_kb_is_refused_and_just_under_is_kept(alice_api, images):
    image = images["slice10"]
    base = len(json.dumps({"points": ""}, separators=(",", ":")))
    at_limit = {"points": "x" * (MAX_DATA_BYTES - base)}

    refused = _post(alice_api, image, data={"points": "x" * (MAX_DATA_BYTES - base + 1)})
    assert refused.status_code == 400
    assert refused.json()["errors"]["data"] == [f"{MAX_DATA_BYTES + 1} bytes of JSON; at most {MAX_DATA_BYTES} are kept per annotation."]
    assert _post(alice_api, image, data=at_limit).status_code == 201
    assert Annotation.objects.get().data == at_limit


def test_a_body_over_128_kb_is_refused_before_it_is_parsed(alice_api, images):
    image = images["slice10"]
    response = _post(alice_api, image, data={"points": "x" * 200_000})

    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than 128 KB.", "code": "too_large"}


@pytest.mark.parametrize("data, message", [
    ([1, 2], "Expected a dictionary of items but got type \"list\"."),
    ("text", "Expected a dictionary of items but got type \"str\"."),
    ({"label": "a\x00b"}, "Text may not contain NUL characters."),
    ({"a\x00": 1}, "Text may not contain NUL characters."),
])
def test_data_must_be_an_object_of_storable_text(alice_api, images, data, message):
    response = _post(alice_api, images["slice10"], data=data)

    assert response.status_code == 400
    assert response.json()["errors"]["data"] == [message]


def test_a_lone_surrogate_in_data_is_refused(alice_api, images):
    image = images["slice10"]
    body = json.dumps(length(image, "d-2")).replace('"mm"', '"\\ud800"')
    response = alice_api.post(annotations_url(image.study), body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"]["data"] == ["Text may not contain lone surrogate characters."]


def test_nesting_deeper_than_32_levels_is_refused_and_a_hostile_one_is_a_parse_error(alice_api, images):
    image = images["slice10"]
    deep: dict = {}
    for _ in range(40):
        deep = {"d": deep}
    assert _post(alice_api, image, data=deep).json()["errors"]["data"] == ["Nested deeper than 32 levels."]

    # 50,000 nested arrays make Python's json raise RecursionError: a 400, not a 500.
    body = json.dumps(length(image, "d-3")).replace('"points": [', '"points": ' + "[" * 50_000 + "]" * 50_000 + ", \"p\": [")
    response = alice_api.post(annotations_url(image.study), body, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"


def test_malformed_uids_and_other_media_types_are_refused(alice_api, images):
    image = images["slice10"]
    for uid in ("", "a/b", "has space", "x" * 65, "ü"):
        response = alice_api.post(annotations_url(image.study), length(image, uid), format="json")
        assert response.status_code == 400 and "uid" in response.json()["errors"], uid
    assert alice_api.get(annotation_url(image.study, "ok") + "../x/").status_code == 404
    assert alice_api.get(f"{annotations_url(image.study)}has%20space/").status_code == 404

    form = alice_api.post(annotations_url(image.study), {"uid": "f"}, format="multipart")
    assert form.status_code == 415
    assert Annotation.objects.count() == 0


def test_a_label_is_at_most_256_characters(alice_api, images):
    response = _post(alice_api, images["slice10"], label="x" * 257)
    assert response.status_code == 400 and "label" in response.json()["errors"]
