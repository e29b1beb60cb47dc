from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        # Logins are recorded from Django's auth signals (the login view is Django's own);
        # every other event is an explicit ``audit.services.record`` call where it happens.
        from django.db.backends.signals import connection_created

        from audit import guard, logins  # noqa: F401  (connects the auth signals)

        connection_created.connect(guard.register_sqlite_function)
