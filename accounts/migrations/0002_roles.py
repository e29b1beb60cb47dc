"""The four roles as groups with model permissions (Django admin and DRF model permissions
read these; which studies a role sees is studies/selectors.py's rule, not a permission)."""
from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    # Admin: manages people, nodes and settings (superusers have every permission anyway).
    "Admin": [
        ("accounts", "user", ("add", "change", "delete", "view")),
        ("auth", "group", ("view",)),
        ("studies", "remotenode", ("add", "change", "delete", "view")),
        ("studies", "sendjob", ("add", "change", "view")),
        ("studies", "patient", ("view", "change")),
        ("studies", "study", ("view", "change", "delete")),
        ("studies", "series", ("view",)),
        ("studies", "instance", ("view",)),
        ("studies", "uploadjob", ("view",)),
    ],
    "Radiologist": [
        ("studies", "patient", ("view",)),
        ("studies", "study", ("view",)),
        ("studies", "series", ("view",)),
        ("studies", "instance", ("view",)),
        ("studies", "sendjob", ("add", "view")),
    ],
    "Referrer": [
        ("studies", "study", ("view",)),
        ("studies", "uploadjob", ("add", "view")),
        ("studies", "studyaccess", ("add",)),  # sharing
    ],
    "Patient": [
        ("studies", "study", ("view",)),
        ("studies", "uploadjob", ("add", "view")),
        ("studies", "studyaccess", ("add",)),
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after the whole migrate run; the groups need them now.
    for config in apps.get_app_configs():
        config.models_module = True
        create_permissions(config, verbosity=0, apps=apps)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, grants in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        codenames = [(app, f"{action}_{model}") for app, model, actions in grants for action in actions]
        for app, codename in codenames:
            group.permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("studies", "0006_people_and_sharing"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
