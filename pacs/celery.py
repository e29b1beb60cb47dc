"""The Celery application; broker and queues come from Django settings."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacs.settings")

app = Celery("pacs")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
