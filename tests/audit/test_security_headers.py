"""Security headers and production settings: a Content Security Policy without inline script
on every page, and `manage.py check --deploy` silent under production environment variables,
while the embedded default (`make run` on http://127.0.0.1:8000) keeps plain HTTP working."""
import os
import secrets
import string
import subprocess

import pytest
from django.urls import reverse

from tests.conftest import PYTHON, REPO

PRODUCTION = {"DEBUG": "0", "ALLOWED_HOSTS": "pacs.example.org,pacs2.example.org"}


def clean_env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "ALLOWED_HOSTS", "SECRET_KEY", "LUMEN_HTTPS", "SECURE_COOKIES", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"}}
    env.update({"LUMEN_DATA_DIR": str(tmp_path), **extra})
    return env


@pytest.mark.django_db
def test_the_login_page_carries_a_policy_that_forbids_inline_script(client):
    policy = client.get(reverse("login"))["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_check_deploy_reports_nothing_under_production_settings(tmp_path):
    secret = "".join(secrets.choice(string.ascii_letters + string.digits + "!@#%^&*(-_=+)") for _ in range(50))
    result = subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO, env=clean_env(tmp_path, SECRET_KEY=secret, **PRODUCTION), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def settings_of(env: dict, *names: str) -> list[str]:
    code = "import django; django.setup(); from django.conf import settings as s; print(*[repr(getattr(s, n)) for n in %r])" % (names,)
    result = subprocess.run([PYTHON, "-c", code], cwd=REPO, env={**env, "DJANGO_SETTINGS_MODULE": "pacs.settings"}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_production_hosts_turn_on_https_redirect_hsts_and_secure_cookies(tmp_path):
    env = clean_env(tmp_path, SECRET_KEY="x" * 50, **PRODUCTION)
    assert settings_of(env, "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS") == ["True", "True", "True", "31536000"]


def test_the_embedded_default_on_localhost_stays_plain_http(tmp_path):
    env = clean_env(tmp_path)
    assert settings_of(env, "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "SECURE_HSTS_SECONDS") == ["False", "False", "0"]


def test_lumen_https_decides_explicitly(tmp_path):
    env = clean_env(tmp_path, LUMEN_HTTPS="1")
    assert settings_of(env, "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE") == ["True", "True"]
