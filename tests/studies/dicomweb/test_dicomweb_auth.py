"""Who may call /dicomweb/: token, bearer, basic and session authentication, and CORS."""
from __future__ import annotations

import base64
import subprocess

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.conftest import PYTHON, REPO
from tests.studies.dicomweb.conftest import session_client

pytestmark = pytest.mark.django_db

VIEWER = "https://viewer.example.org"


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_without_credentials_the_answer_is_401_with_a_challenge_not_a_login_redirect(alice):
    answer = Client().get("/dicomweb/studies")

    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Bearer realm="Lumen DICOMweb", Basic realm="Lumen DICOMweb"'
    assert answer.json()["detail"] == "Authentication credentials were not provided."
    assert Client().post("/dicomweb/studies", data=b"", content_type="multipart/related").status_code == 401


@pytest.mark.parametrize("keyword", ["Token", "Bearer", "bearer"])
def test_alice_can_use_her_api_token_with_either_keyword(alice, keyword):
    token = Token.objects.create(user=alice)

    answer = Client().get("/dicomweb/studies", HTTP_AUTHORIZATION=f"{keyword} {token.key}")

    assert answer.status_code == 200


def test_a_wrong_or_malformed_token_is_401(alice):
    Token.objects.create(user=alice)

    for header in ("Bearer not-a-token", "Bearer", "Bearer two words"):
        answer = Client().get("/dicomweb/studies", HTTP_AUTHORIZATION=header)
        assert answer.status_code == 401, header
        assert "WWW-Authenticate" in answer


def test_the_token_of_a_deactivated_user_no_longer_works(alice):
    token = Token.objects.create(user=alice)
    alice.is_active = False
    alice.save()

    assert Client().get("/dicomweb/studies", HTTP_AUTHORIZATION=f"Bearer {token.key}").status_code == 401


def test_alice_can_use_basic_authentication_with_her_password(alice):
    assert Client().get("/dicomweb/studies", HTTP_AUTHORIZATION=basic("alice", "alice-password-123")).status_code == 200
    assert Client().get("/dicomweb/studies", HTTP_AUTHORIZATION=basic("alice", "wrong")).status_code == 401


def test_a_two_factor_account_cannot_use_its_password_alone_but_its_token_works(alice, radiologist, settings):
    from accounts.twofactor import confirm_totp, pending_device
    from tests.accounts.totp import code_for

    assert confirm_totp(alice, code_for(pending_device(alice)))
    answer = Client().get("/dicomweb/studies", HTTP_AUTHORIZATION=basic("alice", "alice-password-123"))
    assert answer.status_code == 401 and "two-factor" in answer.json()["detail"]
    token = Token.objects.create(user=alice)
    assert Client().get("/dicomweb/studies", HTTP_AUTHORIZATION=f"Bearer {token.key}").status_code == 200

    # A role that must use a second factor is refused too, even before enrolling.
    settings.LUMEN_REQUIRE_2FA_ROLES = ["Radiologist"]
    answer = Client().get("/dicomweb/studies", HTTP_AUTHORIZATION=basic("radiologist", "radiologist-password-123"))
    assert answer.status_code == 401


def test_the_web_session_works_for_the_viewer(alice):
    assert session_client(alice).get("/dicomweb/studies").status_code == 200


def test_a_viewer_on_an_allowed_origin_passes_the_cors_preflight_without_credentials(settings):
    settings.CORS_ALLOWED_ORIGINS = [VIEWER]

    answer = Client().options(
        "/dicomweb/studies",
        HTTP_ORIGIN=VIEWER,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, accept",
    )

    assert answer.status_code == 200
    assert answer["Access-Control-Allow-Origin"] == VIEWER
    assert "authorization" in answer["Access-Control-Allow-Headers"]
    assert "GET" in answer["Access-Control-Allow-Methods"] and "POST" in answer["Access-Control-Allow-Methods"]


def test_cors_headers_go_to_allowed_origins_on_dicomweb_only(alice, settings):
    settings.CORS_ALLOWED_ORIGINS = [VIEWER]
    token = Token.objects.create(user=alice)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token.key}")

    answer = client.get("/dicomweb/studies", HTTP_ORIGIN=VIEWER)
    assert answer["Access-Control-Allow-Origin"] == VIEWER
    assert "www-authenticate" in answer["Access-Control-Expose-Headers"]
    # A 401 carries CORS headers too, so the viewer can tell the user to sign in.
    assert Client().get("/dicomweb/studies", HTTP_ORIGIN=VIEWER)["Access-Control-Allow-Origin"] == VIEWER
    assert "Access-Control-Allow-Origin" not in client.get("/dicomweb/studies", HTTP_ORIGIN="https://evil.example.com")
    assert "Access-Control-Allow-Origin" not in client.get("/login/", HTTP_ORIGIN=VIEWER)


def test_the_allowed_origins_come_from_dicomweb_cors_allowed_origins(subprocess_env):
    env = {**subprocess_env, "DICOMWEB_CORS_ALLOWED_ORIGINS": f"{VIEWER}, http://localhost:3000"}
    printed = subprocess.run(
        [PYTHON, "-c", "import django; django.setup(); from django.conf import settings; print(settings.CORS_ALLOWED_ORIGINS)"],
        env={**env, "DJANGO_SETTINGS_MODULE": "pacs.settings"},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )

    assert printed.stdout.strip() == str([VIEWER, "http://localhost:3000"])
