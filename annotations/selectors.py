"""Reads of saved annotations and key images. Every read is scoped to one person and one study
the caller already found through ``studies.selectors.study_for`` (the visibility rule)."""
from __future__ import annotations

from django.db.models import F, QuerySet
from django.db.models.expressions import OrderBy
from django.http import Http404

from annotations.models import Annotation, KeyImage
from studies.models import Instance
from studies.ordering import INSTANCE_ORDER


def _under(prefix: str, order) -> list:
    """``studies.ordering.INSTANCE_ORDER`` (the one reading order) seen through a relation."""
    terms = []
    for term in order:
        if isinstance(term, str):
            terms.append(f"-{prefix}{term[1:]}" if term.startswith("-") else f"{prefix}{term}")
        elif isinstance(term, OrderBy) and isinstance(term.expression, F):
            terms.append(OrderBy(F(prefix + term.expression.name), descending=term.descending,
                                 nulls_first=term.nulls_first, nulls_last=term.nulls_last))
        else:  # pragma: no cover - INSTANCE_ORDER holds names and F() orderings only
            raise TypeError(f"cannot order through a relation by {term!r}")
    return terms


# Series by number (as the series lists do), then the images in reading order, then the frame.
KEY_IMAGE_ORDER = (
    F("instance__series__series_number").asc(nulls_last=True),
    "instance__series__id",
    *_under("instance__", INSTANCE_ORDER),
    "frame",
)


def annotations_of(user, study) -> QuerySet[Annotation]:
    """All of ``user``'s annotations on ``study``, oldest first (the viewer draws them all at once)."""
    return Annotation.objects.filter(user=user, study=study).select_related("study", "instance__series")


def annotation_for(user, study, uid: str) -> Annotation:
    """One of ``user``'s annotations; another person's UID is 404 like one that does not exist."""
    try:
        return annotations_of(user, study).get(uid=uid)
    except Annotation.DoesNotExist:
        raise Http404("No such annotation") from None


def key_images(user, study) -> list[KeyImage]:
    """``user``'s key images of ``study`` in series and reading order (what the reader marked)."""
    return list(_key_images(study).filter(user=user))


def key_images_of_study(study) -> list[KeyImage]:
    """Everybody's key images of ``study``, same order, the user's id breaking ties. For the
    reports app: a signed report shows its signer's marks (``key_images(signer, study)``); this
    is for views that must show every reader's (e.g. an admin checking a study)."""
    return list(_key_images(study).select_related("user").order_by(*KEY_IMAGE_ORDER, "user_id"))


def key_image_for(user, study, key_image_id: int) -> KeyImage:
    try:
        return _key_images(study).get(user=user, pk=key_image_id)
    except KeyImage.DoesNotExist:
        raise Http404("No such key image") from None


def _key_images(study) -> QuerySet[KeyImage]:
    return KeyImage.objects.filter(study=study).select_related("study", "instance__series").order_by(*KEY_IMAGE_ORDER)


def instance_of_study(study, series_uid: str, sop_uid: str) -> Instance | None:
    """The instance named by both UIDs, if it is in ``study`` (the viewer names images this way)."""
    return (
        Instance.objects.select_related("series")
        .defer("dicom_json")
        .filter(series__study=study, series__series_instance_uid=series_uid, sop_instance_uid=sop_uid)
        .first()
    )
