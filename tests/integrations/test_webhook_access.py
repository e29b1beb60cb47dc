"""Only admins see and manage webhook endpoints: REST API, the webhooks page, Django admin."""
from __future__ import annotations

import pytest
from django.test import Client

from integrations.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import client_with_token
from tests.integrations.conftest import SECRET

pytestmark = pytest.mark.django_db

NEW = {"description": "RIS", "url": "https://ris.example.org/hooks", "secret": SECRET, "events": ["report.final", "study.received"]}


def test_an_admin_creates_an_endpoint_and_never_sees_its_secret_again(admin_user):
    api = client_with_token(admin_user)
    created = api.post("/api/webhooks/", NEW, format="json")

    assert created.status_code == 201, created.content
    assert "secret" not in created.json() and created.json()["created_by"] == "admin"
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == SECRET and endpoint.created_by == admin_user
    listed = api.get("/api/webhooks/").json()
    assert [row["url"] for row in listed["results"]] == [NEW["url"]] and "secret" not in listed["results"][0]
    assert SECRET not in api.get(f"/api/webhooks/{endpoint.pk}/").content.decode()

    changed = api.patch(f"/api/webhooks/{endpoint.pk}/", {"active": False, "secret": "a-brand-new-secret-value"}, format="json")
    assert changed.status_code == 200 and changed.json()["active"] is False
    endpoint.refresh_from_db()
    assert endpoint.secret == "a-brand-new-secret-value" and not endpoint.active
    assert api.delete(f"/api/webhooks/{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"url": "ftp://ris.example.org/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"events": ["report.signed"]}, "events"),
        ({"events": []}, "events"),
        ({"secret": "short"}, "secret"),
    ],
)
def test_a_bad_endpoint_is_a_json_400(admin_user, change, field):
    response = client_with_token(admin_user).post("/api/webhooks/", {**NEW, **change}, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]
    assert not WebhookEndpoint.objects.exists()


def test_an_admin_sends_a_test_event_through_the_api(admin_user, django_capture_on_commit_callbacks):
    endpoint = WebhookEndpoint.objects.create(url=NEW["url"], secret=SECRET, events=["report.final"])
    with django_capture_on_commit_callbacks(execute=False):
        response = client_with_token(admin_user).post(f"/api/webhooks/{endpoint.pk}/test/")
    assert response.status_code == 202 and response.json()["event"] == "webhook.test"
    assert WebhookDelivery.objects.get().endpoint == endpoint
    deliveries = client_with_token(admin_user).get(f"/api/webhooks/{endpoint.pk}/deliveries/").json()
    assert [d["event"] for d in deliveries] == ["webhook.test"]


@pytest.mark.parametrize("persona", ["radiologist", "alice", "patient_user", "charlie"])
def test_nobody_else_sees_or_manages_endpoints(request, persona, admin_user):
    endpoint = WebhookEndpoint.objects.create(url=NEW["url"], secret=SECRET, events=["report.final"])
    api = client_with_token(request.getfixturevalue(persona))

    assert api.get("/api/webhooks/").status_code == 403
    assert api.get(f"/api/webhooks/{endpoint.pk}/").status_code == 403
    assert api.get(f"/api/webhooks/{endpoint.pk}/deliveries/").status_code == 403
    assert api.post("/api/webhooks/", NEW, format="json").status_code == 403
    assert api.patch(f"/api/webhooks/{endpoint.pk}/", {"url": "https://evil.example.org/"}, format="json").status_code == 403
    assert api.delete(f"/api/webhooks/{endpoint.pk}/").status_code == 403
    assert api.post(f"/api/webhooks/{endpoint.pk}/test/").status_code == 403
    endpoint.refresh_from_db()
    assert endpoint.url == NEW["url"] and WebhookEndpoint.objects.count() == 1 and not WebhookDelivery.objects.exists()


def test_without_credentials_the_api_answers_401():
    assert Client().get("/api/webhooks/").status_code == 401


def test_the_webhooks_page_is_for_admins(admin_user, radiologist, alice, django_capture_on_commit_callbacks):
    endpoint = WebhookEndpoint.objects.create(description="<b>RIS</b>", url=NEW["url"], secret=SECRET, events=["report.final"])
    page = Client()
    assert page.get("/webhooks/").status_code == 302  # anonymous: the login page
    for person in (radiologist, alice):
        page.force_login(person)
        assert page.get("/webhooks/").status_code == 403
        assert page.post(f"/webhooks/{endpoint.pk}/test").status_code == 403
    assert not WebhookDelivery.objects.exists()

    page.force_login(admin_user)
    listed = page.get("/webhooks/")
    assert listed.status_code == 200
    html = listed.content.decode()
    assert NEW["url"] in html and "&lt;b&gt;RIS&lt;/b&gt;" in html and SECRET not in html
    with django_capture_on_commit_callbacks(execute=False):
        sent = page.post(f"/webhooks/{endpoint.pk}/test")
    assert sent.status_code == 302 and WebhookDelivery.objects.get().event == "webhook.test"
    assert "not tried yet" in page.get("/webhooks/").content.decode()


def test_the_delivery_log_is_read_only_in_django_admin(admin_user):
    endpoint = WebhookEndpoint.objects.create(url=NEW["url"], secret=SECRET, events=["report.final"])
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event="report.final", event_id="6f1c1b8e-2b55-4b0e-8a39-0c5f1e0b8f11", payload={})
    admin = Client()
    admin.force_login(admin_user)
    assert admin.get("/admin/integrations/webhookdelivery/").status_code == 200
    assert admin.get(f"/admin/integrations/webhookdelivery/{delivery.pk}/change/").status_code == 200
    assert admin.post(f"/admin/integrations/webhookdelivery/{delivery.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin.get("/admin/integrations/webhookdelivery/add/").status_code == 403
    form = admin.get(f"/admin/integrations/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert SECRET not in form
