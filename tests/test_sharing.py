"""Sharing a study with a person, and by an expiring, revocable, view-only link."""
from datetime import timedelta

import pytest
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from pydicom.uid import generate_uid

from studies import sharing
from studies.ingest import Origin, ingest_file
from studies.models import ShareLink, StudyAccess
from tests.conftest import write_dicom

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices(tmp_path, alice):
    uids = {"study": generate_uid(), "series": generate_uid(), "sop": generate_uid()}
    path = write_dicom(tmp_path / "a.dcm", StudyInstanceUID=uids["study"], SeriesInstanceUID=uids["series"], SOPInstanceUID=uids["sop"],
                       PatientName="ALICE^SHARED")
    assert ingest_file(path, origin=Origin(user_id=alice.id)).ok
    return uids


@pytest.fixture
def other(tmp_path, patient_user):
    """Paul's study: a link to Alice's study must never reach it."""
    uids = {"study": generate_uid(), "series": generate_uid(), "sop": generate_uid()}
    path = write_dicom(tmp_path / "p.dcm", StudyInstanceUID=uids["study"], SeriesInstanceUID=uids["series"], SOPInstanceUID=uids["sop"])
    assert ingest_file(path, origin=Origin(user_id=patient_user.id)).ok
    return uids


def _link_urls(token, uids):
    return {
        "study": reverse("shared-study", args=[token]),
        "series": reverse("shared-series", args=[token, uids["series"]]),
        "thumbnail": reverse("shared-thumbnail", args=[token, uids["series"]]),
        "frame": reverse("shared-frame", args=[token, uids["series"], uids["sop"], 1]),
    }


def test_alice_shares_her_study_with_charlie_who_then_sees_it(client, alice, charlie, alices):
    client.force_login(charlie)
    assert client.get(reverse("study-detail", args=[alices["study"]])).status_code == 404

    client.force_login(alice)
    response = client.post(reverse("study-share", args=[alices["study"]]), {"action": "user", "username": "charlie"})
    assert response.status_code == 302
    access = StudyAccess.objects.get(user=charlie)
    assert (access.reason, access.granted_by) == (StudyAccess.Reason.SHARED, alice)

    client.force_login(charlie)
    assert client.get(reverse("study-detail", args=[alices["study"]])).status_code == 200
    qido = client.get(reverse("dicomweb:studies"), HTTP_ACCEPT="application/dicom+json").json()
    assert [s["0020000D"]["Value"][0] for s in qido] == [alices["study"]]


def test_charlie_cannot_share_a_study_he_cannot_see(client, charlie, radiologist, alices):
    client.force_login(charlie)
    response = client.post(reverse("study-share", args=[alices["study"]]), {"action": "user", "username": "rita"})
    assert response.status_code == 404
    with pytest.raises(Http404):
        sharing.share_with_user(by=charlie, study_uid=alices["study"], username="rita")
    assert not StudyAccess.objects.filter(user=radiologist).exists()


def test_alice_withdraws_her_share(client, alice, charlie, alices):
    sharing.share_with_user(by=alice, study_uid=alices["study"], username="charlie")
    client.force_login(alice)
    client.post(reverse("study-share", args=[alices["study"]]), {"action": "unshare", "username": "charlie"})
    client.force_login(charlie)
    assert client.get(reverse("study-detail", args=[alices["study"]])).status_code == 404
    # Her own upload access is not a share: withdrawing never removes it.
    assert StudyAccess.objects.filter(user=alice, reason=StudyAccess.Reason.UPLOADED).exists()


def test_a_share_with_an_unknown_user_is_refused_with_a_message(client, alice, alices):
    client.force_login(alice)
    response = client.post(reverse("study-share", args=[alices["study"]]), {"action": "user", "username": "nobody"}, follow=True)
    assert "There is no active account with that user name." in response.content.decode()
    assert StudyAccess.objects.filter(study__study_instance_uid=alices["study"]).count() == 1


def test_a_link_shows_the_study_and_its_images_without_login(client, alice, alices):
    client.force_login(alice)
    response = client.post(reverse("study-share", args=[alices["study"]]), {"action": "link", "days": "7"})
    assert response.status_code == 200
    url = response.context["new_link_url"]
    token = url.rstrip("/").rsplit("/", 1)[1]
    # Only the hash is kept.
    link = ShareLink.objects.get()
    assert token not in link.token_hash and link.token_hash == sharing.token_hash(token)

    client.logout()
    urls = _link_urls(token, alices)
    page = client.get(urls["study"])
    assert page.status_code == 200 and "ALICE^SHARED" in page.content.decode()
    assert urls["thumbnail"] in page.content.decode()
    assert client.get(urls["series"]).status_code == 200
    frame = client.get(urls["frame"])
    assert frame.status_code == 200 and frame["Content-Type"] == "image/jpeg" and frame.content[:2] == b"\xff\xd8"
    assert client.get(urls["thumbnail"]).status_code == 200
    # View only: the link gives no way to the logged-in endpoints.
    assert client.get(reverse("study-detail", args=[alices["study"]])).status_code == 302
    assert client.get(reverse("shared-file", args=[token, alices["series"], alices["sop"]])).status_code == 404


def test_a_link_never_reaches_another_study(client, alice, alices, other):
    _, token = sharing.create_link(by=alice, study_uid=alices["study"], lifetime=timedelta(days=1))
    foreign = _link_urls(token, other)
    for name in ("series", "thumbnail", "frame"):
        assert client.get(foreign[name]).status_code == 404, name
    mixed = reverse("shared-frame", args=[token, alices["series"], other["sop"], 1])
    assert client.get(mixed).status_code == 404


def test_an_expired_link_answers_like_a_wrong_token(client, alice, alices):
    _, token = sharing.create_link(by=alice, study_uid=alices["study"], lifetime=timedelta(days=1))
    ShareLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    wrong = client.get(reverse("shared-study", args=["not-a-token"]))
    for name, url in _link_urls(token, alices).items():
        response = client.get(url)
        assert response.status_code == 404, name
    assert client.get(_link_urls(token, alices)["study"]).content == wrong.content


def test_a_revoked_link_stops_working_at_once(client, alice, charlie, alices):
    link, token = sharing.create_link(by=alice, study_uid=alices["study"], lifetime=timedelta(days=1))
    assert client.get(_link_urls(token, alices)["frame"]).status_code == 200
    # Only its creator (or an admin) may revoke it.
    assert sharing.revoke_link(by=charlie, link_id=link.pk) is False
    client.force_login(alice)
    client.post(reverse("study-share", args=[alices["study"]]), {"action": "revoke", "link": str(link.pk)})
    client.logout()
    for name, url in _link_urls(token, alices).items():
        assert client.get(url).status_code == 404, name


def test_a_download_link_serves_the_stored_dicom_file(client, alice, alices):
    _, token = sharing.create_link(by=alice, study_uid=alices["study"], lifetime=timedelta(days=1), allow_download=True)
    response = client.get(reverse("shared-file", args=[token, alices["series"], alices["sop"]]))
    assert response.status_code == 200 and response["Content-Type"] == "application/dicom"
    assert b"".join(response.streaming_content)[128:132] == b"DICM"
    assert reverse("shared-file", args=[token, alices["series"], alices["sop"]]) in client.get(_link_urls(token, alices)["series"]).content.decode()


def test_a_link_lifetime_is_bounded(alice, alices):
    with pytest.raises(sharing.ShareRefused):
        sharing.create_link(by=alice, study_uid=alices["study"], lifetime=timedelta(days=31))
