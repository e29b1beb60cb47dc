from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People"

    def ready(self) -> None:
        from accounts import checks  # noqa: F401  (registers the system checks)

        # After every migrate and every test flush (TransactionTestCase empties the groups the
        # data migration made). post_migrate is sent once per app, and the auth app's receiver
        # creates each app's permissions on its turn: act on the last app's turn, when all exist.
        post_migrate.connect(_ensure_roles, dispatch_uid="accounts.ensure_roles")


def _ensure_roles(sender, using="default", **kwargs) -> None:
    from django.apps import apps

    from accounts.roles import ensure_roles

    if sender is list(apps.get_app_configs())[-1]:
        ensure_roles(using=using)
