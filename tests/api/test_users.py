"""People through the REST API: admins list them, change roles (audited) and deactivate; nobody else may."""
import pytest

from accounts.roles import RADIOLOGIST, REFERRER, role_of
from audit.models import Action, AuditEvent
from tests.conftest import client_with_token

pytestmark = pytest.mark.django_db


def test_an_admin_lists_people_with_their_roles(admin_api, admin_user, alice, charlie):
    response = admin_api.get("/api/users/")

    assert response.status_code == 200
    rows = {row["username"]: row for row in response.json()["results"]}
    assert rows["admin"]["role"] == "Admin"
    assert rows["alice"]["role"] == role_of(alice)
    assert set(rows) == {"admin", "alice", "charlie"}
    assert "password" not in rows["alice"]


def test_an_admin_changes_a_role_and_the_change_is_audited(admin_api, admin_user, alice):
    response = admin_api.patch(f"/api/users/{alice.pk}/", {"role": RADIOLOGIST}, format="json")

    assert response.status_code == 200
    assert response.json()["role"] == RADIOLOGIST
    alice.refresh_from_db()
    assert role_of(alice) == RADIOLOGIST
    event = AuditEvent.objects.get(action=Action.ROLE_CHANGE)
    assert (event.event, event.user, event.detail["target"], event.detail["to"]) == ("110113", admin_user, "alice", RADIOLOGIST)


def test_an_unknown_role_is_a_json_400(admin_api, alice):
    response = admin_api.patch(f"/api/users/{alice.pk}/", {"role": "Wizard"}, format="json")

    assert response.status_code == 400
    assert "role" in response.json()["errors"]
    assert not AuditEvent.objects.filter(action=Action.ROLE_CHANGE).exists()


def test_deactivating_someone_stops_their_token_at_once(admin_api, alice):
    alices = client_with_token(alice)
    assert alices.get("/api/studies/").status_code == 200

    response = admin_api.patch(f"/api/users/{alice.pk}/", {"is_active": False}, format="json")

    assert (response.status_code, response.json()["is_active"]) == (200, False)
    assert alices.get("/api/studies/").status_code == 401
    # The same service as the users page: one audit row that says what changed.
    rows = AuditEvent.objects.filter(action=Action.ROLE_CHANGE, detail__target="alice")
    assert [row.detail["change"] for row in rows] == ["deactivated"]


def test_an_admin_cannot_deactivate_themselves(admin_api, admin_user):
    response = admin_api.patch(f"/api/users/{admin_user.pk}/", {"is_active": False}, format="json")

    assert response.status_code == 400
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_people_who_are_not_admins_may_not_manage_people(alice, charlie):
    for person in (alice, charlie):
        client = client_with_token(person)
        assert client.get("/api/users/").json() == {"detail": "Only admins manage people.", "code": "permission_denied"}
        assert client.patch(f"/api/users/{charlie.pk}/", {"role": REFERRER}, format="json").status_code == 403
    charlie.refresh_from_db()
    assert charlie.is_active


def test_users_cannot_be_created_or_deleted_through_the_api(admin_api, alice):
    assert admin_api.post("/api/users/", {"username": "x"}, format="json").status_code == 405
    assert admin_api.delete(f"/api/users/{alice.pk}/").status_code == 405


def test_an_admin_cannot_change_their_own_role_through_the_api(admin_api, admin_user):
    response = admin_api.patch(f"/api/users/{admin_user.pk}/", {"role": "Referrer"}, format="json")

    assert response.status_code == 400 and "own role" in str(response.json()), response.json()
