"""Key images marked in the viewer, read through the annotations app (``annotations.selectors``)
when it is installed; without it a report simply has no figures."""
from __future__ import annotations

from django.apps import apps


def available() -> bool:
    return apps.is_installed("annotations")


def key_images(user, study) -> list:
    """``user``'s key images of ``study`` (objects with series_instance_uid, sop_instance_uid, frame, note)."""
    if not available():
        return []
    from annotations.selectors import key_images as marked

    return list(marked(user, study))


def refs_for(user, study) -> list[dict]:
    """The key images as plain references: what a signed version keeps (its figures never change)."""
    return [
        {
            "series_instance_uid": image.series_instance_uid,
            "sop_instance_uid": image.sop_instance_uid,
            "frame": int(image.frame or 1),
            "note": str(image.note or "")[:1024],
        }
        for image in key_images(user, study)
    ]
