"""PostgreSQL indexes behind the study search (studies/search.py); nothing changes on SQLite.

- Newest first is ``ORDER BY study_date DESC NULLS LAST, id DESC``. PostgreSQL sorts NULL
  first in a descending order, so the ``study_date_recent`` index of the model does not serve
  it; this one does. (SQLite puts NULL last in a descending order already, but cannot spell
  NULLS LAST in an index, which is why this index is not in the model's Meta.)
- Trigram (pg_trgm) indexes make ``*JOHN*``-style name patterns and "description contains"
  index searches instead of table scans. pg_trgm is a trusted extension (PostgreSQL 13+), so
  the database owner can create it; where it cannot be created the searches still work, slower.
"""
import logging

from django.db import migrations, transaction

logger = logging.getLogger(__name__)

ORDER_INDEX = (
    "CREATE INDEX IF NOT EXISTS study_date_recent_nulls_last "
    'ON studies_study (study_date DESC NULLS LAST, id DESC)'
)
TRIGRAM_INDEXES = [
    "CREATE INDEX IF NOT EXISTS patient_name_search_trgm "
    "ON studies_patient USING gin (patient_name_search gin_trgm_ops)",
    # The same expression as Django's icontains on PostgreSQL: UPPER("study_description"::text) LIKE UPPER(...).
    "CREATE INDEX IF NOT EXISTS study_description_trgm "
    "ON studies_study USING gin ((UPPER(study_description::text)) gin_trgm_ops)",
]
DROP = ["study_date_recent_nulls_last", "patient_name_search_trgm", "study_description_trgm"]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(ORDER_INDEX)
    try:
        with transaction.atomic(using=schema_editor.connection.alias):  # a savepoint: a refusal must not abort the migration
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # noqa: BLE001 - any refusal (permissions, extension not installed) means "no trigram indexes"
        logger.warning("pg_trgm is not available (%s): name and description searches will not be indexed", exc)
        return
    for statement in TRIGRAM_INDEXES:
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in DROP:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("studies", "0002_upload_item_claims")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
