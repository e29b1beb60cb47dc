"""Template helpers of the reading workflow: the report of a study (portal pages), unread
notifications (navigation), waiting times."""
from __future__ import annotations

from datetime import timedelta

from django import template

from reports import selectors

register = template.Library()


@register.filter
def waiting(delta: timedelta | None) -> str:
    """“3 d 4 h”, “2 h 05 min”, “12 min”."""
    if delta is None:
        return ""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


@register.simple_tag
def report_for_study(user, study):
    """The live report of ``study`` if ``user`` may see it (signed text only for the portal)."""
    return selectors.report_of_study(user, study)


@register.filter
def reads_reports(user) -> bool:
    """``{% if user|reads_reports %}``: radiologists and admins get the Worklist link."""
    return selectors.is_reader(user)


@register.simple_tag
def unread_notifications(user) -> int:
    return selectors.unread_count(user)
