"""Who may call the REST API: a token (``Token`` or ``Bearer``) or the browser session; every
refusal is JSON with a message and a code."""
import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.api.conftest import HEAD
from tests.conftest import client_with_token

pytestmark = pytest.mark.django_db


def test_a_ris_authenticates_with_token_or_bearer(alice, archive):
    for keyword in ("Token", "Bearer", "bearer"):
        response = client_with_token(alice, keyword).get("/api/studies/")
        assert response.status_code == 200, keyword
        assert response.json()["count"] == 2


def test_without_credentials_the_answer_is_a_json_401_with_a_challenge(archive):
    response = APIClient().get("/api/studies/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"}


def test_a_wrong_or_malformed_token_is_refused(archive):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-key")
    response = client.get(f"/api/studies/{HEAD}/")
    assert (response.status_code, response.json()["code"]) == (401, "authentication_failed")
    client.credentials(HTTP_AUTHORIZATION="Bearer two words")
    assert client.get("/api/studies/").json()["detail"].startswith("Invalid token header")


def test_a_deactivated_users_token_stops_working(alice, archive):
    client = client_with_token(alice)
    alice.is_active = False
    alice.save()

    assert client.get("/api/studies/").status_code == 401


def test_the_web_ui_uses_its_session(alice, archive):
    client = Client()
    client.force_login(alice)

    assert client.get("/api/studies/").json()["count"] == 2


def test_an_unknown_api_url_answers_json_404_and_pages_keep_html(alice_api):
    response = alice_api.get("/api/no-such-thing/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    page = Client().get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


def test_an_unhandled_error_under_api_answers_json_500(alice, monkeypatch):
    from studies.api.resources import StudyViewSet

    def broken(user):
        raise RuntimeError("a bug")

    monkeypatch.setattr(StudyViewSet, "selector", staticmethod(broken))
    client = Client(raise_request_exception=False)
    client.force_login(alice)

    response = client.get("/api/studies/")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error.", "code": "server_error"}
    assert "a bug" not in response.content.decode()
