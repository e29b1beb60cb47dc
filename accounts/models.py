"""The people of Lumen. A custom user model from the start (swapping it later needs a
hand-migrated database); what a person may do comes from their role, a Django group
(accounts/roles.py), not from fields here.
"""
from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """Kept minimal on purpose: role = group membership; ``is_staff`` only opens Django admin."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
