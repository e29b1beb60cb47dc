"""Schemathesis against /api/schema/: generated requests for every operation, with the API token
of each persona and with none. No answer may be a 5xx, and every operation refuses a request
without credentials (401)."""
from urllib.parse import unquote, urlsplit

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

@pytest.fixture
def api_schema(db, archive, admin_user, alice, charlie, radiologist):
    from pacs.wsgi import application

    # Requests go through the WSGI app in this thread and this test's transaction; like
    # Django's test client, keep the end of each request from closing that connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(admin_user, alice, charlie, radiologist):
    return {user.username: Token.objects.get_or_create(user=user)[0].key for user in (admin_user, alice, charlie, radiologist)}


def test_no_operation_fails_or_ignores_authentication(api_schema, tokens):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    seen = set()

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
        def check(case):
            for username, key in tokens.items():
                response = case.call(headers={"Authorization": f"Token {key}"})
                assert response.status_code < 500, (username, case.method, case.formatted_path, response.text)
                seen.add((case.operation.label, response.status_code))
            anonymous = case.call(headers={"Authorization": ""})
            # A generated path no URL pattern matches (a negative id) is a 404 before any view runs.
            expected = 401 if routed(anonymous.request.url) else 404
            assert anonymous.status_code == expected, (case.method, case.formatted_path, anonymous.status_code)

        check()

    # The requests reached the views, not only the authentication: lists answered, unknown UIDs 404.
    assert ("GET /api/studies/", 200) in seen and ("GET /api/studies/{study_uid}/", 404) in seen
    assert len({label for label, _ in seen}) == len(operations)


def routed(url: str) -> bool:
    try:
        resolve(unquote(urlsplit(url).path))
    except Resolver404:
        return False
    return True
