"""What an admin does to people, and what a person does with a one-time link. Each service
changes one account, sends what must be sent and writes its audit row; views only parse and
call one of these.

Errors a person can fix come back as ``AccountError`` with a message to show.
"""
from __future__ import annotations

import smtplib

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.mail import send_mail
from django.db import transaction
from rest_framework.authtoken.models import Token

from accounts import links, twofactor
from accounts.models import AccountLink
from accounts.roles import ROLES, role_of, set_role
from audit import events


class AccountError(ValueError):
    """A refused change, with a message for the person who asked."""


def _display_name(user) -> str:
    return user.get_full_name() or user.get_username()


def _send_link(user, token: str, purpose: str) -> None:
    url = links.link_url(token)
    if purpose == AccountLink.Purpose.INVITATION:
        subject = f"Your {settings.LUMEN_INSTITUTION_NAME} account"
        opening = f"You have been invited to {settings.LUMEN_INSTITUTION_NAME}. Your username is {user.get_username()}."
        lifetime = f"{settings.LUMEN_INVITATION_DAYS} days"
    else:
        subject = f"Set a new password for {settings.LUMEN_INSTITUTION_NAME}"
        opening = f"An administrator has asked for your password ({user.get_username()}) to be reset."
        lifetime = f"{settings.LUMEN_PASSWORD_RESET_HOURS} hours"
    body = (
        f"Hello {_display_name(user)},\n\n{opening}\n\n"
        f"Choose your password here (the link works once, for {lifetime}):\n{url}\n\n"
        "If you did not expect this message, ignore it.\n"
    )
    try:
        send_mail(subject, body, None, [user.email])
    except (OSError, smtplib.SMTPException) as exc:
        # Raised inside the caller's transaction: the account change and its link are undone.
        raise AccountError(f"The mail could not be sent ({exc.__class__.__name__}); nothing was changed.") from exc


def user_invite(*, actor, email: str, first_name: str, last_name: str, role: str | None, request=None):
    """Creates the account (username = email, no usable password yet) and mails a one-time
    link to set the password. Nothing is kept if the mail cannot be sent."""
    email = get_user_model().objects.normalize_email(email.strip()).lower()
    if role is not None and role not in ROLES:
        raise AccountError(f"Unknown role {role!r}.")
    User = get_user_model()
    if User.objects.filter(email__iexact=email).exists() or User.objects.filter(username__iexact=email).exists():
        raise AccountError("Someone with this email address already has an account.")
    with transaction.atomic():
        user = User(username=email, email=email, first_name=first_name.strip(), last_name=last_name.strip())
        user.set_unusable_password()
        user.save()
        set_role(user, role)
        _, token = links.link_issue(user=user, purpose=AccountLink.Purpose.INVITATION, actor=actor)
        events.account_changed(actor=actor, user=user, change="invited", request=request, detail={"role": role})
        _send_link(user, token, AccountLink.Purpose.INVITATION)  # raises: the invitation is rolled back
    return user


def user_send_password_reset(*, actor, user, request=None) -> None:
    """Mails the person a one-time link to set a new password (their older links stop working)."""
    if not user.email:
        raise AccountError("This person has no email address.")
    if not user.is_active:
        raise AccountError("Reactivate the account first.")
    with transaction.atomic():
        _, token = links.link_issue(user=user, purpose=AccountLink.Purpose.PASSWORD_RESET, actor=actor)
        events.account_changed(actor=actor, user=user, change="password-reset-sent", request=request)
        _send_link(user, token, AccountLink.Purpose.PASSWORD_RESET)


def password_set_with_link(*, link: AccountLink, password: str, request=None):
    """Sets the password through a one-time link, which is then dead. The password validators
    (AUTH_PASSWORD_VALIDATORS) must pass; a link spent meanwhile refuses."""
    user = link.user
    password_validation.validate_password(password, user)
    with transaction.atomic():
        if not links.link_spend(link):
            raise AccountError("This link has already been used or has expired.")
        user.set_password(password)
        user.save(update_fields=["password"])
        events.account_changed(actor=user, user=user, change="password-set", request=request, detail={"link": link.purpose})
    return user


def user_change_role(*, actor, user, role: str | None, request=None) -> None:
    """Makes ``role`` the person's only role; one role-change audit row when it changed."""
    if role is not None and role not in ROLES:
        raise AccountError(f"Unknown role {role!r}.")
    if user.pk == actor.pk and role_of(user) != role:
        raise AccountError("Admins cannot change their own role.")
    with transaction.atomic():
        old = role_of(user)
        if old == role:
            return
        set_role(user, role)
        events.role_changed(actor=actor, user=user, old_role=old, new_role=role, request=request)


def user_set_active(*, actor, user, active: bool, request=None) -> None:
    """Deactivating ends the person's sessions (Django refuses inactive users) and deletes their
    API token, so a RIS using it stops at once; the account and its history stay."""
    if user.pk == actor.pk and not active:
        raise AccountError("Admins cannot deactivate themselves.")
    if user.is_active == active:
        return
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        if not active:
            Token.objects.filter(user=user).delete()
        events.account_changed(actor=actor, user=user, change="reactivated" if active else "deactivated", request=request)


def user_reset_2fa(*, actor, user, request=None) -> None:
    """Removes the person's authenticator (lost phone): they log in with the password alone and,
    if 2FA is required of them, must enrol again before anything else."""
    with transaction.atomic():
        removed = twofactor.remove_totp(user)
        events.account_changed(actor=actor, user=user, change="2fa-reset", request=request, detail={"devices": removed})


def user_set_require_2fa(*, actor, user, required: bool, request=None) -> None:
    if user.require_2fa == required:
        return
    with transaction.atomic():
        user.require_2fa = required
        user.save(update_fields=["require_2fa"])
        events.account_changed(actor=actor, user=user, change="2fa-required" if required else "2fa-not-required", request=request)


def totp_enrol(*, user, token: str, request=None) -> bool:
    """Confirms the person's pending authenticator with a code from it; audited when it worked."""
    if not twofactor.confirm_totp(user, token):
        return False
    events.account_changed(actor=user, user=user, change="2fa-enrolled", request=request)
    return True
