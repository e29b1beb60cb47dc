"""Logins, failed logins and logouts, from Django's auth signals (PS3.15 A.5.3.8 User
Authentication, DCM 110114). Lockouts are recorded from django-axes' signal."""
from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.models import Action, Event, Outcome
from audit.services import record


@receiver(user_logged_in, dispatch_uid="audit-login")
def on_login(sender, request, user, **kwargs):
    record(Event.USER_AUTHENTICATION, Action.LOGIN, request=request, user=user)


@receiver(user_login_failed, dispatch_uid="audit-login-failed")
def on_login_failed(sender, credentials, request=None, **kwargs):
    # ``credentials`` has the password already masked by Django; keep only the username.
    username = str((credentials or {}).get("username", ""))[:150]
    record(Event.USER_AUTHENTICATION, Action.LOGIN_FAILED, request=request, user=None, username=username, outcome=Outcome.MINOR_FAILURE)


@receiver(user_logged_out, dispatch_uid="audit-logout")
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        record(Event.USER_AUTHENTICATION, Action.LOGOUT, request=request, user=user)
