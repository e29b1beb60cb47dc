"""How long a browser may keep what is made from an instance's stored pixels: WADO-RS frames
and rendered images (the viewer's slices, the quick view's JPEGs)."""
from __future__ import annotations

from django.conf import settings

# "private": medical data behind a login, never for a shared cache.
IMMUTABLE = "private, max-age=31536000, immutable"
ASK_EACH_TIME = "private, no-cache"


def stored_pixels() -> str:
    """Cache-Control of an answer made from an instance's stored pixels.

    A SOP Instance UID names one object forever (PS3.3 C.12.1.1.1), and under the default
    keep-first policy the archive never replaces its bytes: a reopened study comes from the
    browser's cache without a request. Under ``LUMEN_DUPLICATE_POLICY=overwrite`` an instance
    sent again replaces them under the same URL; a browser keeping the old pixels for a year
    would show a reader the replaced image, so it asks every time (rendered images answer 304
    when their ETag still holds).
    """
    return IMMUTABLE if settings.LUMEN_DUPLICATE_POLICY == "keep-first" else ASK_EACH_TIME
