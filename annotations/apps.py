from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    """Measurements, annotations and key images a reader saves on a study (per study and user)."""

    name = "annotations"
    default_auto_field = "django.db.models.BigAutoField"
