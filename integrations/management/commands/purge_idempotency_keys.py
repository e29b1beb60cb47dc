"""Deletes the idempotency records older than 24 h (run daily from cron or a scheduler).

An expired key is already treated as new when it comes back (integrations/idempotency.py);
this only keeps the table small.
"""
from django.core.management.base import BaseCommand

from integrations.idempotency import idempotency_purge


class Command(BaseCommand):
    help = "Delete Idempotency-Key records past their 24 hours."

    def handle(self, *args, **options):
        self.stdout.write(f"{idempotency_purge()} expired idempotency records deleted")
