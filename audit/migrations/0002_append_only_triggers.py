"""The database refuses UPDATE and DELETE of audit rows (audit/guard.py)."""
from django.db import migrations

from audit import guard


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(guard.install, guard.remove)]
