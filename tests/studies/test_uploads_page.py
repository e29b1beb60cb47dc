"""The upload page: for logged-in users only, configured through json_script, with its script
in a static file (no inline script: a CSP will forbid them) and the controls upload.js drives."""
import json
import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_upload_page_needs_a_login(client):
    response = client.get(reverse("upload"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_alice_gets_the_drop_zone_the_pickers_and_the_progress_bars(client, alice, settings):
    settings.LUMEN_UPLOAD_MAX_BYTES = 123 * 1024 * 1024
    client.force_login(alice)

    html = client.get(reverse("upload")).content.decode()

    config = json.loads(re.search(r'<script id="upload-config" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert config == {"createUrl": "/api/uploads/", "maxBytes": 123 * 1024 * 1024, "batchMaxBytes": 16 * 1024 * 1024, "batchMaxFiles": 50}
    assert 'id="drop-zone"' in html
    assert re.search(r'<input type="file" id="pick-files" multiple', html)
    assert re.search(r'<input type="file" id="pick-folder" webkitdirectory', html)
    assert '<progress id="upload-progress"' in html and '<progress id="send-progress"' in html
    assert 'name="csrfmiddlewaretoken"' in html  # upload.js sends it as X-CSRFToken
    scripts = re.findall(r"<script([^>]*)>", html)
    assert all('src="' in attrs or 'type="application/json"' in attrs for attrs in scripts), scripts
    assert any("frontend/upload.js" in attrs for attrs in scripts)


def test_batches_never_exceed_what_the_server_takes_per_request(client, alice, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 20
    client.force_login(alice)
    html = client.get(reverse("upload")).content.decode()
    config = json.loads(re.search(r'<script id="upload-config" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert config["batchMaxFiles"] == 20
