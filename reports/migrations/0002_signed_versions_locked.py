"""The database refuses any UPDATE of a signed report version (reports/guard.py)."""
from django.db import migrations

from reports import guard


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]
    operations = [migrations.RunPython(guard.install, guard.remove)]
