from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """What a RIS or another system needs to integrate safely with the REST API (idempotency keys)."""

    name = "integrations"
    default_auto_field = "django.db.models.BigAutoField"
