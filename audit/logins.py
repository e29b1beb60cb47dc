"""Logins, failed logins, lockouts and logouts (PS3.15 A.5.3.8 User Authentication, DCM 110114),
from Django's auth signals and django-axes' lockout signal (the login view is Django's own).

Each attempt writes exactly one row: a wrong password is ``login-failed`` (minor failure);
the attempt that reaches the limit, and every attempt while locked, is ``lockout`` (serious
failure) instead. django-axes handles ``user_login_failed`` before us ("axes" comes before
"audit" in INSTALLED_APPS) and marks the request ``axes_locked_out``.
"""
from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.models import Action, Event, Outcome
from audit.services import record


def _username(credentials) -> str:
    # ``credentials`` has the password already masked by Django; keep only the username.
    return str((credentials or {}).get("username", ""))[:150]


@receiver(user_logged_in, dispatch_uid="audit-login")
def on_login(sender, request, user, **kwargs):
    record(Event.USER_AUTHENTICATION, Action.LOGIN, request=request, user=user)


@receiver(user_login_failed, dispatch_uid="audit-login-failed")
def on_login_failed(sender, credentials, request=None, **kwargs):
    if request is not None and getattr(request, "axes_locked_out", False):
        return  # the lockout row stands for this attempt
    record(Event.USER_AUTHENTICATION, Action.LOGIN_FAILED, request=request, user=None, username=_username(credentials), outcome=Outcome.MINOR_FAILURE)


@receiver(user_locked_out, dispatch_uid="audit-lockout")
def on_locked_out(sender, request, username=None, ip_address=None, **kwargs):
    record(
        Event.USER_AUTHENTICATION, Action.LOCKOUT, request=request, user=None, username=str(username or "")[:150], ip=ip_address,
        outcome=Outcome.SERIOUS_FAILURE,
    )


@receiver(user_logged_out, dispatch_uid="audit-logout")
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        record(Event.USER_AUTHENTICATION, Action.LOGOUT, request=request, user=user)
