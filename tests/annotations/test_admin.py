"""Django admin: superusers list and delete saved annotations; a staff member who was given the
view permission sees only their own, and nobody edits a measurement there."""
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from tests.annotations.conftest import annotations_url, key_images_url, length

pytestmark = pytest.mark.django_db


def test_superusers_see_everyones_and_a_staff_reader_only_their_own(client, alice_api, rita_api, radiologist, admin_user, images):
    assert alice_api.post(annotations_url(images["slice10"].study), length(images["slice10"], "alices-uid"), format="json").status_code == 201
    assert rita_api.post(annotations_url(images["pool"].study), length(images["pool"], "ritas-uid"), format="json").status_code == 201
    assert rita_api.post(key_images_url(images["pool"].study), images["pool"].body(), format="json").status_code == 201
    changelist = reverse("admin:annotations_annotation_changelist")

    client.force_login(admin_user)
    page = client.get(changelist).content.decode()
    assert "alices-uid" in page and "ritas-uid" in page
    assert client.get(reverse("admin:annotations_keyimage_changelist")).status_code == 200

    radiologist.is_staff = True
    radiologist.save()
    radiologist.user_permissions.add(Permission.objects.get(codename="view_annotation"))
    client.force_login(radiologist)
    page = client.get(changelist)
    assert page.status_code == 200
    assert "ritas-uid" in page.content.decode() and "alices-uid" not in page.content.decode()
    assert client.get(reverse("admin:annotations_annotation_add")).status_code == 403
