"""Reads about people for the admin's users page."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Case, CharField, Exists, OuterRef, Q, QuerySet, Subquery, Value, When
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccountLink
from accounts.roles import ADMIN, ROLES


def users_for_admin(*, search: str = "", role: str = "") -> QuerySet:
    """Every person with ``lumen_role`` (accounts.roles' precedence), ``has_2fa`` (a confirmed
    authenticator) and ``invited`` (an unused invitation, no password yet), in one query."""
    precedence = Case(*(When(name=name, then=Value(i)) for i, name in enumerate(ROLES)))
    first_role = Group.objects.filter(user=OuterRef("pk"), name__in=ROLES).order_by(precedence).values("name")[:1]
    queryset = get_user_model().objects.annotate(
        lumen_role=Case(When(is_superuser=True, then=Value(ADMIN)), default=Subquery(first_role), output_field=CharField()),
        has_2fa=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
        invited=Exists(AccountLink.objects.filter(user=OuterRef("pk"), purpose=AccountLink.Purpose.INVITATION, used_at__isnull=True)),
    )
    search = search.strip()
    if search:
        queryset = queryset.filter(
            Q(username__icontains=search) | Q(email__icontains=search) | Q(first_name__icontains=search) | Q(last_name__icontains=search)
        )
    if role == "none":
        queryset = queryset.filter(lumen_role__isnull=True)
    elif role in ROLES:
        queryset = queryset.filter(lumen_role=role)
    return queryset.order_by("username")
