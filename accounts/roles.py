"""Roles are Django groups (created by accounts/migrations/0002_roles.py). A person has one
role; superusers are admins whatever their groups. ``is_staff`` only opens Django admin and
says nothing about which studies someone sees (studies/selectors.py decides that).
"""
from __future__ import annotations

from django.contrib.auth.models import Group

ADMIN = "Admin"
RADIOLOGIST = "Radiologist"
REFERRER = "Referrer"
PATIENT = "Patient"
ROLES = (ADMIN, RADIOLOGIST, REFERRER, PATIENT)

# Checked most powerful first, so a person left in two groups gets the wider one, predictably.
_PRECEDENCE = (ADMIN, RADIOLOGIST, REFERRER, PATIENT)


def role_of(user) -> str | None:
    """The person's role, or None (anonymous, inactive or in no role group: sees only what was shared)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return ADMIN
    # Cached on the user object: one request asks several selectors, the groups are asked once.
    cached = getattr(user, "_lumen_role", False)
    if cached is not False:
        return cached
    names = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    role = next((name for name in _PRECEDENCE if name in names), None)
    user._lumen_role = role
    return role


def is_admin(user) -> bool:
    return role_of(user) == ADMIN


def is_radiologist(user) -> bool:
    return role_of(user) == RADIOLOGIST


def set_role(user, role: str | None) -> None:
    """Make ``role`` the person's only role group (None: no role)."""
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    if role is not None:
        user.groups.add(Group.objects.get(name=role))
    user.__dict__.pop("_lumen_role", None)
