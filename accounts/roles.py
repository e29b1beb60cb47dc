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

# The model permissions of each role (app, model, actions). accounts/migrations/0002_roles.py
# created the groups with a frozen copy of this; ``ensure_roles`` (post_migrate) keeps them there
# after a flush (tests) and adds permissions granted here later.
ROLE_PERMISSIONS = {
    ADMIN: [
        ("accounts", "user", ("add", "change", "delete", "view")),
        ("auth", "group", ("view",)),
        ("studies", "remotenode", ("add", "change", "delete", "view")),
        ("studies", "sendjob", ("add", "change", "view")),
        ("studies", "patient", ("view", "change")),
        ("studies", "study", ("view", "change", "delete")),
        ("studies", "series", ("view",)),
        ("studies", "instance", ("view",)),
        ("studies", "uploadjob", ("view",)),
    ],
    RADIOLOGIST: [
        ("studies", "patient", ("view",)),
        ("studies", "study", ("view",)),
        ("studies", "series", ("view",)),
        ("studies", "instance", ("view",)),
        ("studies", "sendjob", ("add", "view")),
    ],
    REFERRER: [("studies", "study", ("view",)), ("studies", "uploadjob", ("add", "view")), ("studies", "studyaccess", ("add",))],
    PATIENT: [("studies", "study", ("view",)), ("studies", "uploadjob", ("add", "view")), ("studies", "studyaccess", ("add",))],
}

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


def role_subquery(user_id):
    """The role as a subquery on ``user_id`` (an OuterRef), so the query that loads a person
    (e.g. by API token) brings the role along: one round trip per request instead of two."""
    from django.db.models import Case, OuterRef, Subquery, When  # noqa: F401 (OuterRef: for callers)

    precedence = Case(*(When(name=name, then=rank) for rank, name in enumerate(_PRECEDENCE)))
    groups = Group.objects.filter(user=user_id, name__in=ROLES).order_by(precedence)
    return Subquery(groups.values("name")[:1])


def remember_role(user, role: str | None) -> None:
    """Cache a role read with ``role_subquery`` on the user object, as ``role_of`` does."""
    user._lumen_role = role


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


def ensure_roles(using: str = "default", **kwargs) -> None:
    """The four groups with their permissions; idempotent (a post_migrate receiver)."""
    from django.contrib.auth.models import Permission

    for role, grants in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = [(app, f"{action}_{model}") for app, model, actions in grants for action in actions]
        permissions = [
            p
            for p in Permission.objects.using(using).filter(codename__in=[c for _, c in wanted]).select_related("content_type")
            if (p.content_type.app_label, p.codename) in wanted
        ]
        group.permissions.add(*permissions)
