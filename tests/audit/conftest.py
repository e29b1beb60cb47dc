import pytest


@pytest.fixture(autouse=True)
def strict_audit(settings):
    """A row that cannot be written fails the test instead of only being logged."""
    settings.LUMEN_AUDIT_STRICT = True


from tests.studies.test_dicomserver import start_listener  # noqa: E402, F401  (the listener fixture, shared)
