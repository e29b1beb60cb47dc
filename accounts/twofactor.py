"""TOTP second factor (RFC 6238), on django-otp's TOTP devices.

A person has at most one TOTP device. It is *unconfirmed* while they enrol (the secret is
shown as an otpauth:// URI and a QR code) and *confirmed* once they typed a code from their
authenticator app; only a confirmed device counts for login and for signing.

``has_totp`` and ``verify_totp`` are the whole interface other apps use (the login step and
the report signing step ask for a code again). ``verify_totp`` uses django-otp's own rules:
a code is accepted once (``last_t``), within one 30 s step either side, and a device that
failed slows down exponentially (``ThrottlingMixin``: after n failures, no verification for
2**(n-1) s). Counting failures towards the login lockout and auditing them is the caller's
job (accounts/views.py does it for login).
"""
from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "Authenticator app"


def has_totp(user) -> bool:
    """True when the person has a confirmed TOTP device (login and signing then ask for a code)."""
    if user is None or not getattr(user, "is_authenticated", False) or user.pk is None:
        return False
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()


def requires_2fa(user) -> bool:
    """Must this person use a second factor? Their role is in LUMEN_REQUIRE_2FA_ROLES, or an
    admin ticked "requires two-factor login" on their account."""
    from accounts.roles import role_of

    if not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "require_2fa", False):
        return True
    return bool(settings.LUMEN_REQUIRE_2FA_ROLES) and role_of(user) in settings.LUMEN_REQUIRE_2FA_ROLES


def verify_totp(user, token: str) -> bool:
    """Checks ``token`` against the person's confirmed TOTP device; False when there is none,
    when the code is wrong or already used, or while the device is throttled."""
    token = (token or "").strip().replace(" ", "")
    if not token.isdigit() or user is None or user.pk is None:
        return False
    with transaction.atomic():
        # Row lock: two requests racing with the same code cannot both pass the last_t check.
        device = TOTPDevice.objects.select_for_update().filter(user_id=user.pk, confirmed=True).first()
        return device is not None and device.verify_token(token)


def pending_device(user) -> TOTPDevice:
    """The person's unconfirmed device (made on first call): what the enrolment page shows."""
    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def confirm_totp(user, token: str) -> bool:
    """Confirms the pending device with a code from the app; any older device is removed."""
    token = (token or "").strip().replace(" ", "")
    if not token.isdigit():
        return False
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user_id=user.pk, confirmed=False).first()
        if device is None or not device.verify_token(token):
            return False
        TOTPDevice.objects.filter(user_id=user.pk).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    return True


def remove_totp(user) -> int:
    """Removes every TOTP device of the person (an admin's reset); returns how many."""
    deleted, _ = TOTPDevice.objects.filter(user_id=user.pk).delete()
    return deleted
