"""Django's ``flush``, allowed to empty the audit table on SQLite (see audit/guard.py).

Flushing the whole database is an operator's act at the command line, never a request's;
on PostgreSQL flush uses TRUNCATE, which the row triggers do not see.
"""
from django.core.management.commands.flush import Command as FlushCommand

from audit.guard import purge_permitted


class Command(FlushCommand):
    def handle(self, **options):
        with purge_permitted():
            return super().handle(**options)
