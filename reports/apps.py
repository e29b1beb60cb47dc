from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reporting"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A complete study joins the worklist. The archive announces completeness with a signal
        # (studies/signals.py) so that it never imports the reading workflow.
        from reports import receivers
        from studies.signals import study_completed

        study_completed.connect(receivers.study_completed, dispatch_uid="reports.worklist_entry")
