"""The database half of "append-only": triggers that refuse UPDATE and DELETE of audit rows.

PostgreSQL: a plpgsql trigger raises on UPDATE and DELETE. TRUNCATE is not covered: it needs
the table owner's privilege and is how ``manage.py flush`` (and the test suite) empties the
database; a production role should not own the tables.

SQLite: ``BEFORE UPDATE/DELETE ... SELECT RAISE(ABORT, ...)``. SQLite's ``flush`` is
``DELETE FROM`` for every table, so the DELETE trigger lets a row go only while the SQL
function ``lumen_audit_purge()`` answers 1, which happens only inside our ``flush`` command
(audit/management/commands/flush.py). The function exists only in connections opened by
Lumen: from any other client (the sqlite3 shell) the trigger fails, which still refuses.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

_purge = threading.local()

TABLE = "audit_auditevent"
MESSAGE = "audit events are append-only"

POSTGRES_INSTALL = f"""
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_auditevent_append_only BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
"""
POSTGRES_REMOVE = f"""
DROP TRIGGER IF EXISTS audit_auditevent_append_only ON {TABLE};
DROP FUNCTION IF EXISTS audit_refuse_change();
"""
SQLITE_INSTALL = [
    f"""CREATE TRIGGER audit_auditevent_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END""",
    f"""CREATE TRIGGER audit_auditevent_no_delete BEFORE DELETE ON {TABLE}
        WHEN lumen_audit_purge() IS NOT 1
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE refused'); END""",
]
SQLITE_REMOVE = ["DROP TRIGGER IF EXISTS audit_auditevent_no_update", "DROP TRIGGER IF EXISTS audit_auditevent_no_delete"]


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_INSTALL, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_INSTALL:
            schema_editor.execute(statement)


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_REMOVE, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_REMOVE:
            schema_editor.execute(statement)


def register_sqlite_function(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_function("lumen_audit_purge", 0, lambda: 1 if getattr(_purge, "on", False) else 0)


@contextmanager
def purge_permitted():
    """Only for ``manage.py flush``, which empties every table of the database."""
    _purge.on = True
    try:
        yield
    finally:
        _purge.on = False
