from django import template

from audit.selectors import can_read_audit

register = template.Library()


@register.filter
def reads_audit(user) -> bool:
    """``{% if user|reads_audit %}``: show the Audit link to those who may read the trail."""
    return can_read_audit(user)
