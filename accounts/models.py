"""The people of Lumen. A custom user model from the start (swapping it later needs a
hand-migrated database); what a person may do comes from their role, a Django group
(accounts/roles.py), not from fields here.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class User(AbstractUser):
    """Kept minimal on purpose: role = group membership; ``is_staff`` only opens Django admin."""

    # An admin's per-person demand for a second factor, on top of LUMEN_REQUIRE_2FA_ROLES.
    require_2fa = models.BooleanField(
        "requires two-factor login", default=False,
        help_text="The person must enrol an authenticator app before using anything else.",
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"


class AccountLink(models.Model):
    """A one-time link that lets a person set their password: an invitation or a password reset.

    Only the SHA-256 of the token is stored (the mail carries the token); a link works once
    (``used_at`` is set by a conditional UPDATE) and until ``expires_at``. Issuing a new link
    for a person withdraws their older unused ones.
    """

    class Purpose(models.TextChoices):
        INVITATION = "invitation", "Invitation"
        PASSWORD_RESET = "password-reset", "Password reset"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_links")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "used_at"])]

    def __str__(self):
        return f"{self.get_purpose_display()} for {self.user} until {self.expires_at:%Y-%m-%d %H:%M}"

    @property
    def usable(self) -> bool:
        return self.used_at is None and self.expires_at > timezone.now()
