"""The OpenAPI 3 schema (drf-spectacular) and the Swagger UI docs page, served offline."""
import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_schema_generates_without_warnings_and_validates(tmp_path):
    out = tmp_path / "schema.yaml"
    # --fail-on-warn turns every warning or error of the generator into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")
    for path in ("/api/studies/", "/api/studies/{study_uid}/", "/api/studies/{study_uid}/series/",
                 "/api/series/{series_uid}/instances/", "/api/patients/", "/api/instances/{sop_uid}/",
                 "/api/uploads/", "/api/uploads/{job_id}", "/api/studies/{study_uid}/send"):
        assert path in schema["paths"], path
    assert not [path for path in schema["paths"] if not path.startswith("/api/")]  # DICOMweb is PS3.18's


def test_every_operation_requires_authentication(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out))
    schema = yaml.safe_load(out.read_text())

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            security = operation.get("security", schema.get("security"))
            assert security, (method, path)
            assert {} not in security, (method, path)  # {} would mean "anonymous allowed"
            assert {"tokenAuth": []} in security, (method, path)


def test_the_posts_document_their_idempotency_key():
    schema = yaml.safe_load(Client().get("/api/schema/").content)

    for path in ("/api/uploads/", "/api/studies/{study_uid}/send"):
        headers = [p["name"] for p in schema["paths"][path]["post"]["parameters"] if p["in"] == "header"]
        assert headers == ["Idempotency-Key"], path


def test_the_study_list_documents_its_filters_and_paging():
    schema = yaml.safe_load(Client().get("/api/schema/").content)

    names = {p["name"] for p in schema["paths"]["/api/studies/"]["get"]["parameters"]}
    assert {"patient_name", "patient_id", "study_date_from", "study_date_to", "modality", "accession_number",
            "ordering", "limit", "offset"} <= names


def test_the_docs_page_has_no_inline_script_and_its_assets_are_local():
    page = Client().get("/api/docs/")

    assert page.status_code == 200
    html = page.content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert len(scripts) == 3
    assert all('src="' in attributes and body.strip() == "" for attributes, body in scripts)  # script-src 'self'
    assert "<style" not in html and " style=" not in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert not [url for url in sources if url.startswith(("http:", "https:", "//"))]  # works offline
    for url in sources:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url


def test_the_docs_start_up_script_points_at_the_schema():
    script = Client().get("/api/docs/?script=")

    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
