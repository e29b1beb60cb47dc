"""Key images marked for the report: one mark per frame and person, listed in series and
reading order, for the reader (``key_images``) and for the report of a study (``key_images_of_study``)."""
import pytest

from annotations import selectors
from annotations.models import KeyImage
from studies.models import Study
from tests.annotations.conftest import key_images_url

pytestmark = pytest.mark.django_db


def test_marking_the_same_frame_twice_makes_no_twin(alice_api, images):
    image = images["slice10"]
    first = alice_api.post(key_images_url(image.study), image.body(note="liver lesion"), format="json")
    again = alice_api.post(key_images_url(image.study), image.body(), format="json")

    assert first.status_code == 201 and first["Location"] == first.json()["url"]
    assert again.status_code == 200
    assert again.json() == first.json()  # the same mark, note kept when none is given
    renoted = alice_api.post(key_images_url(image.study), image.body(note="segment VII"), format="json")
    assert renoted.status_code == 200 and renoted.json()["id"] == first.json()["id"] and renoted.json()["note"] == "segment VII"
    assert KeyImage.objects.count() == 1

    other_frame = images["multiframe"]
    assert alice_api.post(key_images_url(image.study), other_frame.body(frame=1), format="json").status_code == 201
    assert alice_api.post(key_images_url(image.study), other_frame.body(frame=2), format="json").status_code == 201
    assert KeyImage.objects.count() == 3


def test_a_key_image_is_shown_and_unmarked(alice_api, images):
    image = images["slice10"]
    mark = alice_api.post(key_images_url(image.study), image.body(note="n"), format="json").json()

    assert {k: mark[k] for k in ("study_instance_uid", "series_instance_uid", "sop_instance_uid", "frame", "note")} == {
        "study_instance_uid": image.study, "series_instance_uid": image.series, "sop_instance_uid": image.sop,
        "frame": 1, "note": "n",
    }
    assert alice_api.get(mark["url"]).json() == mark
    assert alice_api.get(key_images_url(image.study)).json() == [mark]
    assert alice_api.delete(mark["url"]).status_code == 204
    assert alice_api.get(key_images_url(image.study)).json() == []


def test_key_images_are_listed_by_series_then_reading_order_then_frame(alice_api, admin_api, alice, admin_user, images):
    study = Study.objects.get(study_instance_uid=images["slice0"].study)
    # Marked out of order: series 2 before series 1, slices by instance number (not position), frame 2 before 1.
    for name, frame in (("slice20", 1), ("slice0", 1), ("multiframe", 2), ("slice10", 1), ("multiframe", 1)):
        assert alice_api.post(key_images_url(study.study_instance_uid), images[name].body(frame=frame), format="json").status_code == 201
    assert admin_api.post(key_images_url(study.study_instance_uid), images["slice10"].body(note="admin"), format="json").status_code == 201

    expected = [(images["multiframe"].sop, 1), (images["multiframe"].sop, 2), (images["slice0"].sop, 1),
                (images["slice10"].sop, 1), (images["slice20"].sop, 1)]
    mine = selectors.key_images(alice, study)
    assert [(row.sop_instance_uid, row.frame) for row in mine] == expected
    assert all(row.user_id == alice.pk and row.series_instance_uid and row.created_at for row in mine)
    assert [(row["sop_instance_uid"], row["frame"]) for row in alice_api.get(key_images_url(study.study_instance_uid)).json()] == expected

    everybody = selectors.key_images_of_study(study)
    assert [(row.sop_instance_uid, row.frame, row.user.username) for row in everybody] == [
        (sop, frame, "alice") for sop, frame in expected[:3]
    ] + [(images["slice10"].sop, 1, "alice"), (images["slice10"].sop, 1, "admin"), (images["slice20"].sop, 1, "alice")]
    assert [row.note for row in selectors.key_images(admin_user, study)] == ["admin"]
