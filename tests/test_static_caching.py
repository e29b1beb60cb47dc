"""pacs/settings.py WHITENOISE_IMMUTABLE_FILE_TEST: hashed names are cached for good, the rest rechecked."""
import pytest
from django.conf import settings


@pytest.mark.parametrize(
    ("url", "immutable"),
    [
        ("/static/frontend/viewer/assets/charlswasm_decode-CEN7ucFR.wasm", True),  # Vite-hashed codec
        ("/static/frontend/viewer/chunks/jpeg-17RUpS_o.js", True),  # Vite-hashed chunk
        ("/static/frontend/lumen.5f3a2b1c9d0e.css", True),  # the manifest's hash
        ("/static/frontend/viewer/viewer.js", False),  # the entry, named without a hash
        ("/static/frontend/lumen.css", False),
        ("/static/frontend/viewer/assets/../../../secret-CEN7ucFR.js", False),
    ],
)
def test_only_hashed_names_are_immutable(url, immutable):
    assert settings.WHITENOISE_IMMUTABLE_FILE_TEST("", url) is immutable
