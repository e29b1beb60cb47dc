"""The admin's users page: find people, invite, and change an account. Admin role only (others:
403; anonymous: the login page). Every change is a POST with CSRF; the logic is in
accounts/services.py."""
from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import services, twofactor
from accounts.forms import InviteForm, RoleForm, UserSearchForm
from accounts.roles import is_admin, role_of
from accounts.selectors import users_for_admin


def admin_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_admin(request.user):
            raise PermissionDenied("Only admins manage people.")
        return view(request, *args, **kwargs)

    return wrapper


@admin_required
def user_list(request):
    search = UserSearchForm(request.GET or None)
    filters = search.cleaned_data if search.is_valid() else {}
    people = users_for_admin(search=filters.get("q", ""), role=filters.get("role", ""))
    page = Paginator(people, 50).get_page(request.GET.get("page"))
    return render(request, "frontend/accounts/user_list.html", {"search": search, "page": page})


@admin_required
def user_invite(request):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person = services.user_invite(actor=request.user, request=request, **form.cleaned_data)
        except services.AccountError as exc:
            form.add_error("email", str(exc))
        else:
            messages.success(request, f"Invitation sent to {person.email}.")
            return redirect("user-detail", person.pk)
    return render(request, "frontend/accounts/user_invite.html", {"form": form, "days": settings.LUMEN_INVITATION_DAYS})


@admin_required
def user_detail(request, user_id):
    person = get_object_or_404(users_for_admin(), pk=user_id)
    context = {"person": person, "role_form": RoleForm(initial={"role": role_of(person) or ""}), "requires_2fa": twofactor.requires_2fa(person)}
    return render(request, "frontend/accounts/user_detail.html", context)


def _change(service, success: str, form_class=None, **fixed):
    """A POST-only action on one person: call ``service`` (with the form's fields, if any), say
    how it went, back to their page."""

    @admin_required
    @require_POST
    def view(request, user_id):
        person = get_object_or_404(get_user_model(), pk=user_id)
        extra = {}
        if form_class is not None:
            form = form_class(request.POST)
            if not form.is_valid():
                messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
                return redirect("user-detail", person.pk)
            extra = form.cleaned_data
        try:
            service(actor=request.user, user=person, request=request, **fixed, **extra)
        except services.AccountError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, success.format(name=person.get_username()))
        return redirect("user-detail", person.pk)

    return view


user_change_role = _change(services.user_change_role, "Role of {name} saved.", form_class=RoleForm)
user_deactivate = _change(services.user_set_active, "{name} is deactivated: they cannot log in, their API token is deleted.", active=False)
user_reactivate = _change(services.user_set_active, "{name} is active again.", active=True)
user_reset_password = _change(services.user_send_password_reset, "A link to set a new password was mailed to {name}.")
user_reset_2fa = _change(services.user_reset_2fa, "Two-factor login of {name} was reset: they log in with their password and enrol again.")
user_require_2fa = _change(services.user_set_require_2fa, "{name} must now use two-factor login.", required=True)
user_unrequire_2fa = _change(services.user_set_require_2fa, "{name} no longer has to use two-factor login (their role may still require it).", required=False)
