"""Logging in with a second factor, enrolling an authenticator, and setting a password
through a one-time link.

Login is two steps when the person has a confirmed authenticator: the password step
(Django's LoginView: axes refuses locked-out names and addresses) does *not* log in, it keeps
the person's id in the session for LOGIN_CODE_SECONDS; the code step logs in. A wrong code is a
failed login: Django's ``user_login_failed`` signal, so django-axes counts it towards the
lockout and the audit trail writes its login-failed row, exactly like a wrong password.
"""
from __future__ import annotations

import time

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.contrib import messages
from django.contrib.auth import get_user_model, login as auth_login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
import segno

from accounts import links, services, twofactor
from accounts.forms import CodeForm
from accounts.middleware import mark_verified

PENDING = "lumen_pending_login"
LOGIN_CODE_SECONDS = 300  # the code must follow the password within five minutes


class PasswordLoginView(LoginView):
    """Django's login, except that a person with an authenticator is asked for a code next."""

    template_name = "frontend/login.html"

    def form_valid(self, form):
        user = form.get_user()
        if not twofactor.has_totp(user):
            response = super().form_valid(form)
            return response
        self.request.session[PENDING] = {"user": user.pk, "backend": user.backend, "at": time.time(), "next": self.get_success_url()}
        return redirect("login-code")


def _pending_user(request):
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending.get("at", 0) > LOGIN_CODE_SECONDS:
        return None, None
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    return user, pending


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def login_code(request):
    user, pending = _pending_user(request)
    if user is None:
        request.session.pop(PENDING, None)
        messages.info(request, "Please log in again.")
        return redirect("login")
    credentials = {"username": user.get_username()}
    if not AxesProxyHandler.is_allowed(request, credentials):
        request.session.pop(PENDING, None)
        return get_lockout_response(request, None, credentials)
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid() and twofactor.verify_totp(user, form.cleaned_data["code"]):
            request.session.pop(PENDING, None)
            auth_login(request, user, backend=pending["backend"])
            mark_verified(request)
            return redirect(pending["next"])
        # The same signal as a wrong password: axes counts it, audit writes login-failed.
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if getattr(request, "axes_locked_out", False):
            request.session.pop(PENDING, None)
            return get_lockout_response(request, None, credentials)
        if form.is_valid():
            form.add_error(None, "That code is not right (or was already used). Try the next one.")
    return render(request, "frontend/accounts/login_code.html", {"form": form, "username": user.get_username()})


@login_required
@never_cache
def twofactor_enrol(request):
    """Shows the pending authenticator (otpauth:// URI and QR code) and confirms it with a code."""
    enrolled = twofactor.has_totp(request.user)
    if enrolled and request.method == "GET":
        return render(request, "frontend/accounts/twofactor.html", {"enrolled": True, "required": twofactor.requires_2fa(request.user)})
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.totp_enrol(user=request.user, token=form.cleaned_data["code"], request=request):
            mark_verified(request)
            messages.success(request, "Two-factor login is on: from now on you log in with a code from your app.")
            return redirect("study-list")
        form.add_error("code", "That code is not right. Check the time on your phone and try the next code.")
    device = twofactor.pending_device(request.user)
    context = {"form": form, "enrolled": False, "uri": device.config_url, "required": twofactor.requires_2fa(request.user)}
    return render(request, "frontend/accounts/twofactor.html", context)


@login_required
@never_cache
def twofactor_qr(request):
    """The pending authenticator's otpauth:// URI as an SVG QR code (drawn here, never by a third party)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        raise Http404("no authenticator being set up")
    response = HttpResponse(content_type="image/svg+xml")
    segno.make(device.config_url, error="m").save(response, kind="svg", scale=5, border=4, xmldecl=False)
    response["Cache-Control"] = "no-store, private"
    return response


@sensitive_post_parameters("new_password1", "new_password2")
@csrf_protect
@never_cache
def set_password(request, token):
    """The page a one-time link opens: choose a password (the validators apply); then the link is dead."""
    link = links.link_find(token)
    if link is None:
        return render(request, "frontend/accounts/link_invalid.html", status=404)
    form = SetPasswordForm(link.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_set_with_link(link=link, password=form.cleaned_data["new_password1"], request=request)
        except (services.AccountError, ValidationError) as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Your password is set. Log in with it now.")
            return redirect("login")
    return render(request, "frontend/accounts/set_password.html", {"form": form, "person": link.user, "link": link})
