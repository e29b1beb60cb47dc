"""First-run setup for `make run`: the admin account, an optional demo study, and where to go."""
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from studies.models import Instance

DEMO_SERIES = "ct_series/crlm_ct_1006_abdomen_5mm"  # 51 real CT slices, 27 MB: quick to import


class Command(BaseCommand):
    help = "Create the admin account (LUMEN_ADMIN_PASSWORD) and, with --demo, import a demo study."

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true", help="import a demo CT series when the archive is empty")

    def handle(self, *args, demo: bool, **options):
        password = self._ensure_admin()
        if demo:
            self._import_demo()
        bind = settings.LUMEN_HTTP_BIND
        self.stdout.write(self.style.SUCCESS(f"\nLumen PACS is starting on http://{bind}/"))
        self.stdout.write(f"  Log in as: admin / {password}")
        self.stdout.write(f"  DICOM listener: AE title {settings.DICOM_AE_TITLE}, port {settings.DICOM_PORT}")
        self.stdout.write(f"  Data: {settings.DATA_DIR}\n")

    def _ensure_admin(self) -> str:
        User = get_user_model()
        wanted = settings.LUMEN_ADMIN_PASSWORD
        admin = User.objects.filter(username="admin").first()
        if admin is None:
            password = wanted or secrets.token_urlsafe(12)
            User.objects.create_superuser("admin", "", password)
            if not wanted:
                self.stdout.write("Generated a password for 'admin' (set LUMEN_ADMIN_PASSWORD to choose one).")
            return password
        if wanted:
            admin.set_password(wanted)
            admin.save(update_fields=["password"])
            return wanted
        return "(unchanged; set LUMEN_ADMIN_PASSWORD to reset it)"

    def _import_demo(self) -> None:
        demo = settings.LUMEN_DEMO_DIR / DEMO_SERIES
        if Instance.objects.exists():
            return
        if not demo.is_dir():
            self.stdout.write(f"No demo data at {demo}; skipping the demo import.")
            return
        self.stdout.write(f"Importing the demo study from {demo} ...")
        call_command("import_dicom", str(demo), stdout=self.stdout, stderr=self.stderr)
