"""The cached WADO-RS series metadata (studies.models.SeriesMetadata).

On PostgreSQL the body is compressed with LZ4 where the server has it: the headers of a series
repeat each other, and LZ4's window sees that (1.35 MB → 36 KB for the 140-slice head CT; the
default pglz, with its 4 KB window, gave 448 KB) and decompresses faster.
"""
import django.db.models.deletion
from django.db import DatabaseError, migrations, models, transaction


def compress_with_lz4(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic():
            schema_editor.execute("ALTER TABLE studies_seriesmetadata ALTER COLUMN body SET COMPRESSION lz4")
    except DatabaseError:
        pass  # a server built without LZ4 keeps pglz


class Migration(migrations.Migration):
    dependencies = [("studies", "0008_study_modalities_index")]

    operations = [
        migrations.CreateModel(
            name="SeriesMetadata",
            fields=[
                (
                    "series",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="metadata_cache",
                        serialize=False,
                        to="studies.series",
                    ),
                ),
                ("version", models.CharField(max_length=128)),
                ("body", models.TextField()),
            ],
        ),
        migrations.RunPython(compress_with_lz4, migrations.RunPython.noop, elidable=False),
    ]
