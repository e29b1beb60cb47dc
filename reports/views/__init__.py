"""Pages of the reading workflow, one module per screen: worklist, editor, report (portal),
notifications, turnaround (admins)."""
