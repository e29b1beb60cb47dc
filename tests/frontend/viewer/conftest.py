"""Fixtures of the viewer's browser tests: a logged-in Chromium page, the head CT, the artifacts folder."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from studies.ingest import Origin, ingest_file
from studies.models import Series
from tests.conftest import CT_HEAD, REPO

BUNDLE = REPO / "frontend" / "static" / "frontend" / "viewer" / "viewer.js"


@pytest.fixture
def artifacts() -> Path:
    """Screenshots of each tested state: var/test-artifacts/viewer/ (LUMEN_TEST_ARTIFACTS overrides)."""
    folder = Path(os.environ.get("LUMEN_TEST_ARTIFACTS", REPO / "var" / "test-artifacts")) / "viewer"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def head_ct(alice):
    """The 140-slice head CT, uploaded by alice."""
    if not CT_HEAD.is_dir():
        pytest.skip("the 140-slice head CT sample is not available")
    for path in sorted(CT_HEAD.iterdir()):
        assert ingest_file(path, origin=Origin(user_id=alice.id)).ok
    return Series.objects.select_related("study").get()


@pytest.fixture
def viewport_size() -> dict:
    return {"width": 1280, "height": 900}


@pytest.fixture
def device_scale_factor() -> float:
    """Device pixels per CSS pixel (2 as on a HiDPI screen: the canvas has twice the pixels)."""
    return 1


@pytest.fixture
def page(live_server, chromium, alice, viewport_size, device_scale_factor):
    """A page logged in as alice; any uncaught script error fails the test."""
    if not BUNDLE.exists():
        pytest.fail("the viewer is not built: run `make viewer` (make test does)")
    client = Client()
    client.force_login(alice)
    context = chromium.new_context(base_url=live_server.url, viewport=viewport_size, device_scale_factor=device_scale_factor)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": live_server.url}])
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert errors == []
