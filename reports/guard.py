"""The database half of "a signed report version never changes": a trigger refuses any UPDATE
of a report version row whose ``signed_at`` was already set (the model's ``save()`` refuses too;
this also stops ``QuerySet.update`` and other clients). DELETE stays possible so that deleting
a whole study (admin) cascades; the model refuses deleting a signed version on its own.
"""
from __future__ import annotations

TABLE = "reports_reportversion"
MESSAGE = "a signed report version cannot be changed"

POSTGRES_INSTALL = f"""
CREATE OR REPLACE FUNCTION reports_refuse_signed_change() RETURNS trigger AS $$
BEGIN
    IF OLD.signed_at IS NOT NULL THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER reports_reportversion_signed_locked BEFORE UPDATE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION reports_refuse_signed_change();
"""
POSTGRES_REMOVE = f"""
DROP TRIGGER IF EXISTS reports_reportversion_signed_locked ON {TABLE};
DROP FUNCTION IF EXISTS reports_refuse_signed_change();
"""
SQLITE_INSTALL = f"""CREATE TRIGGER reports_reportversion_signed_locked BEFORE UPDATE ON {TABLE}
    WHEN OLD.signed_at IS NOT NULL
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"""
SQLITE_REMOVE = "DROP TRIGGER IF EXISTS reports_reportversion_signed_locked"


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_INSTALL, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_INSTALL)


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_REMOVE, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_REMOVE)
