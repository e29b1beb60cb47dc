from django import template

from accounts.roles import is_admin

register = template.Library()


@register.filter
def manages_people(user) -> bool:
    """Admins see the "Users" page (accounts/user_admin_views.py)."""
    return is_admin(user)
