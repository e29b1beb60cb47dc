"""One-time links that set a password (invitations and password resets).

The token is 32 random bytes (``secrets.token_urlsafe``) sent only in the mail; the database
keeps its SHA-256, so a copy of the database opens no account. A link is spent by a
conditional ``UPDATE … WHERE used_at IS NULL AND expires_at > now`` that must change exactly
one row: two clicks racing on the same link cannot both set a password.

Lifetimes: LUMEN_INVITATION_DAYS (default 7) for invitations, LUMEN_PASSWORD_RESET_HOURS
(default 24) for resets. Issuing a link withdraws the person's older unused links.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountLink

Purpose = AccountLink.Purpose


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def lifetime(purpose: str) -> timedelta:
    if purpose == Purpose.INVITATION:
        return timedelta(days=settings.LUMEN_INVITATION_DAYS)
    return timedelta(hours=settings.LUMEN_PASSWORD_RESET_HOURS)


def link_issue(*, user, purpose: str, actor=None) -> tuple[AccountLink, str]:
    """A new link for ``user``; returns the row and the token (the only time it exists in clear)."""
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        AccountLink.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
        link = AccountLink.objects.create(
            user=user, purpose=purpose, token_hash=_hash(token), created_by=actor, created_at=now, expires_at=now + lifetime(purpose)
        )
    return link, token


def link_url(token: str) -> str:
    """The absolute URL the mail carries (LUMEN_BASE_URL + the set-password page)."""
    return settings.LUMEN_BASE_URL + reverse("set-password", args=[token])


def link_find(token: str) -> AccountLink | None:
    """The usable link for ``token`` (unused, unexpired, active person), or None."""
    if not token or len(token) > 100:
        return None
    link = AccountLink.objects.select_related("user").filter(token_hash=_hash(token)).first()
    if link is None or not link.usable or not link.user.is_active:
        return None
    return link


def link_spend(link: AccountLink) -> bool:
    """Marks the link used; False when someone else spent it (or it expired) in the meantime."""
    now = timezone.now()
    changed = AccountLink.objects.filter(pk=link.pk, used_at__isnull=True, expires_at__gt=now).update(used_at=now)
    return changed == 1
