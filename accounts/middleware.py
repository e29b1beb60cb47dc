"""People who must use a second factor (accounts.twofactor.requires_2fa) and have no
authenticator yet are sent to the enrolment page before anything else: pages redirect there,
session requests to /api/ and /dicomweb/ answer 403 JSON. API tokens are not affected (they
are for machines; the token request has no session user here).

Cost: nothing for whoever needs no second factor (the flag is on the user row; the role is
read only when LUMEN_REQUIRE_2FA_ROLES is set), nothing once this session logged in with a
code or enrolled (a session flag), else one EXISTS query.
"""
from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve

from accounts import twofactor

SESSION_FLAG = "lumen_2fa_verified"
# What someone who still has to enrol may reach: the enrolment page itself, logging out, and
# the login steps (to change account).
ALLOWED_URL_NAMES = frozenset({"twofactor-enrol", "twofactor-qr", "logout", "login", "login-code", "set-password"})
API_PREFIXES = ("/api/", "/dicomweb/")


def mark_verified(request) -> None:
    """This session proved a second factor (logged in with a code, or just enrolled)."""
    request.session[SESSION_FLAG] = True


class TwoFactorEnrolmentMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._must_enrol(request):
            if request.path_info.startswith(API_PREFIXES):
                return JsonResponse(
                    {"detail": "Two-factor login is required for this account: enrol an authenticator app first.", "code": "2fa_enrolment_required"},
                    status=403,
                )
            return redirect("twofactor-enrol")
        return self.get_response(request)

    def _must_enrol(self, request) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.session.get(SESSION_FLAG):
            return False
        if not twofactor.requires_2fa(user):
            return False
        try:
            if resolve(request.path_info).url_name in ALLOWED_URL_NAMES:
                return False
        except Resolver404:
            pass
        return not twofactor.has_totp(user)
