"""Reads of the audit trail: who may read it, and the filtered, newest-first events."""
from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.models import AuditEvent


def can_read_audit(user) -> bool:
    """Admins (the Admin role, superusers) and anyone given the audit.view_auditevent permission,
    directly or through a group."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    from accounts.roles import is_admin

    return is_admin(user) or _has_view_permission(user)


def _has_view_permission(user) -> bool:
    # ModelBackend's answer (the only backend that grants permissions here) in one EXISTS query.
    # Every page asks it for its navigation; user.has_perm loaded all of the person's permissions
    # in two queries, ~40 % of the study list's template time.
    from django.contrib.auth.models import Permission

    return (
        Permission.objects.filter(content_type__app_label="audit", codename="view_auditevent")
        .filter(Q(user=user) | Q(group__user=user))
        .exists()
    )


def search_events(*, user: str = "", ae: str = "", event: str = "", action: str = "", study_uid: str = "", outcome=None,
                  date_from: dt.date | None = None, date_to: dt.date | None = None) -> QuerySet[AuditEvent]:
    """Exact matches (indexed), except the username, which matches case-insensitively from its start."""
    events = AuditEvent.objects.all()
    if user:
        events = events.filter(username__istartswith=user)
    if ae:
        events = events.filter(calling_ae=ae)
    if event:
        events = events.filter(event=event)
    if action:
        events = events.filter(action=action)
    if study_uid:
        events = events.filter(study_uid=study_uid)
    if outcome is not None:
        events = events.filter(outcome=outcome)
    tz = timezone.get_current_timezone()
    if date_from:
        events = events.filter(occurred_at__gte=dt.datetime.combine(date_from, dt.time.min, tzinfo=tz))
    if date_to:
        events = events.filter(occurred_at__lt=dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz))
    return events.order_by("-occurred_at", "-id")
