"""A GIN index over the elements of ModalitiesInStudy, for the study search's modality filter
(studies.search.AnyModality); PostgreSQL only.

The column holds "CT\\PT"-style lists, so a modality is matched as a whole element: with LIKE
patterns PostgreSQL read every study to find the 1 % that are SEG or RF. Split into an array,
``&&`` finds them through this index, and the array's element statistics tell the planner how
common each modality is (CT: walk the date index; SEG: fetch the few and sort them).
SQLite keeps the LIKE/GLOB patterns over a table scan, as before.
"""
from django.db import migrations

INDEX = (
    "CREATE INDEX IF NOT EXISTS study_modalities_elements "
    "ON studies_study USING gin (string_to_array(modalities_in_study::text, '\\'::text))"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS study_modalities_elements")


class Migration(migrations.Migration):
    dependencies = [("studies", "0007_study_completion")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
