from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """What a RIS or another system needs to integrate with Lumen: idempotency keys of the REST
    API, and outgoing webhooks (integrations/webhooks.py)."""

    name = "integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integrations.webhooks import on_study_completed
        from studies.signals import study_completed

        study_completed.connect(on_study_completed, dispatch_uid="integrations.study_received_webhook")
