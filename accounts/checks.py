"""Configuration mistakes of the accounts app, reported by ``manage.py check``."""
from django.conf import settings
from django.core.checks import Error, register


@register()
def require_2fa_roles_exist(app_configs, **kwargs):
    from accounts.roles import ROLES

    unknown = [name for name in settings.LUMEN_REQUIRE_2FA_ROLES if name not in ROLES]
    if not unknown:
        return []
    return [
        Error(
            f"LUMEN_REQUIRE_2FA_ROLES names unknown roles: {', '.join(unknown)}.",
            hint=f"Use a comma-separated list of {', '.join(ROLES)}.",
            id="accounts.E001",
        )
    ]
