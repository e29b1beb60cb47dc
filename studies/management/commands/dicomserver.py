"""`python manage.py dicomserver`: the DICOM listener (C-ECHO, C-STORE) in its own process(es)."""
import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from studies.dimse import server


class Command(BaseCommand):
    help = "Run the DICOM listener (C-ECHO and C-STORE SCP) until SIGTERM or Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, help=f"TCP port (DICOM_PORT, default {settings.DICOM_PORT})")
        parser.add_argument("--bind", help="address to listen on (DICOM_BIND_ADDRESS)")
        parser.add_argument("--ae-title", help="our AE title (DICOM_AE_TITLE)")
        parser.add_argument(
            "--processes",
            type=int,
            help="listener processes sharing the port (DICOM_PROCESSES; 0 = one per core)",
        )

    def handle(self, *args, port=None, bind=None, ae_title=None, processes=None, **options):
        config = server.ListenerConfig.from_settings(port=port, bind_address=bind, ae_title=ae_title)
        count = settings.DICOM_PROCESSES if processes is None else processes
        if count < 0:
            raise CommandError("--processes must be 0 (one per core) or more")
        count = count or os.cpu_count() or 1
        try:
            exit_code = server.run(config, processes=count)
        except OSError as exc:
            raise CommandError(f"cannot listen on {config.bind_address}:{config.port}: {exc}") from exc
        if exit_code:
            raise CommandError("a listener process failed to start; see the log above")
