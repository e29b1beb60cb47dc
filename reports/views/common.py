"""What the report pages share: turning a refused operation into a message, parsing dates."""
from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from reports.workflow import ReportError


def refused(request, exc: ReportError) -> None:
    messages.error(request, str(exc))


def parse_local_datetime(text: str) -> datetime | None:
    """A ``datetime-local`` input (no zone) in the site's time zone; None when empty or invalid."""
    value = parse_datetime((text or "").strip()) if text else None
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value
