"""pacs/middleware.py: a NUL in the URL is a clear 400 on every route, never a database error."""
import pytest

UID = "1.2.3%00"
ROUTES = [
    f"/api/studies/{UID}/",
    f"/api/studies/{UID}/annotations/",
    f"/api/studies/?study_instance_uid={UID}",
    f"/dicomweb/studies/{UID}/series",
    f"/dicomweb/studies/{UID}/metadata",
    f"/dicomweb/studies?PatientID={UID}",
    f"/dicomweb/studies/{UID}/series/1%00/instances/2/rendered",
    f"/studies/{UID}/",
    f"/studies/{UID}/viewer/",
    f"/?patient_id={UID}",
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ROUTES)
def test_a_nul_anywhere_in_the_url_is_a_400(client, admin_user, url):
    client.force_login(admin_user)
    response = client.get(url)
    assert response.status_code == 400
    if url.startswith(("/api/", "/dicomweb/")):
        assert response.json() == {"detail": "NUL characters are not allowed in the URL.", "code": "invalid"}
    else:
        assert response.content == b"NUL characters are not allowed in the URL."


@pytest.mark.django_db
def test_an_escaped_percent_sign_is_not_a_nul(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/dicomweb/studies?PatientID=100%2500", HTTP_ACCEPT="application/dicom+json").status_code in (200, 204)
