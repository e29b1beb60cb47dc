"""The browser saves with its session and the CSRF token (X-CSRFToken, as the viewer sends it);
an API client uses its token and needs no CSRF token."""
import json

import pytest
from django.test import Client

from annotations.models import Annotation
from tests.annotations.conftest import annotation_url, annotations_url, key_images_url, length

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    return browser


def _csrf_token(browser) -> str:
    browser.get("/")  # any page sets the csrftoken cookie (the viewer page injects the token)

    return browser.cookies["csrftoken"].value


def test_a_session_without_the_csrf_token_cannot_write(browser, images):
    image = images["slice10"]
    body = json.dumps(length(image, "c-1"))

    assert browser.post(annotations_url(image.study), body, content_type="application/json").status_code == 403
    assert browser.put(annotation_url(image.study, "c-1"), body, content_type="application/json").status_code == 403
    assert browser.post(key_images_url(image.study), json.dumps(image.body()), content_type="application/json").status_code == 403
    assert Annotation.objects.count() == 0
    assert browser.get(annotations_url(image.study)).status_code == 200  # reading needs no token


def test_a_session_with_the_csrf_token_saves_changes_and_deletes(browser, images):
    image = images["slice10"]
    token = _csrf_token(browser)
    body = json.dumps(length(image, "c-2"))

    created = browser.post(annotations_url(image.study), body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert created.status_code == 201, created.content
    url = annotation_url(image.study, "c-2")
    assert browser.put(url, body, content_type="application/json", HTTP_X_CSRFTOKEN=token).status_code == 200
    assert browser.delete(url).status_code == 403
    assert browser.delete(url, HTTP_X_CSRFTOKEN=token).status_code == 204


def test_a_token_client_needs_no_csrf_token(alice_api, images):
    image = images["slice10"]
    alice_api.enforce_csrf_checks = True
    assert alice_api.post(annotations_url(image.study), length(image, "c-3"), format="json").status_code == 201
    assert alice_api.get(annotations_url(image.study)).json()[0]["uid"] == "c-3"
    alice_api.credentials(HTTP_AUTHORIZATION="Token not-a-key")
    assert alice_api.get(annotations_url(image.study)).status_code == 401
