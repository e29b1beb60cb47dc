"""Roles are groups: made by the data migration, kept after a test flush, one per person."""
import pytest
from django.contrib.auth.models import Group

from accounts import roles

pytestmark = pytest.mark.django_db


def test_the_four_roles_exist_with_their_model_permissions():
    perms = {g.name: set(g.permissions.values_list("codename", flat=True)) for g in Group.objects.all()}
    assert set(perms) >= set(roles.ROLES)
    assert {"add_user", "change_user", "change_remotenode"} <= perms["Admin"]
    assert {"view_study", "view_instance", "add_sendjob"} <= perms["Radiologist"]
    assert perms["Referrer"] == perms["Patient"] == {"view_study", "add_uploadjob", "view_uploadjob", "add_studyaccess"}


def test_each_persona_has_its_role(admin_user, radiologist, alice, patient_user, charlie):
    assert [roles.role_of(u) for u in (admin_user, radiologist, alice, patient_user, charlie)] == [
        "Admin", "Radiologist", "Referrer", "Patient", None]
    assert roles.is_admin(admin_user) and roles.is_radiologist(radiologist) and not roles.is_admin(radiologist)


def test_changing_a_role_replaces_the_old_one(django_user_model, alice):
    roles.set_role(alice, roles.RADIOLOGIST)
    fresh = django_user_model.objects.get(pk=alice.pk)
    assert roles.role_of(fresh) == "Radiologist"
    assert list(fresh.groups.values_list("name", flat=True)) == ["Radiologist"]
    with pytest.raises(ValueError):
        roles.set_role(fresh, "Overlord")


def test_an_inactive_person_has_no_role(django_user_model, radiologist):
    radiologist.is_active = False
    radiologist.save()
    assert roles.role_of(django_user_model.objects.get(pk=radiologist.pk)) is None


@pytest.mark.django_db(transaction=True)
def test_the_roles_survive_the_flush_between_transactional_tests(radiologist):
    # A transactional test empties every table afterwards; post_migrate puts the roles back.
    assert roles.role_of(radiologist) == "Radiologist"
    assert Group.objects.get(name="Admin").permissions.filter(codename="add_user").exists()
