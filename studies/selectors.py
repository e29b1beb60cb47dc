"""Reads of the archive. ``visible_studies`` is the one rule for who may see which study:
every page, API, DICOMweb and image endpoint starts from it, so a study someone may not
see answers exactly like a study that does not exist (404).
"""
from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from studies.models import Instance, Series, Study, StudyAccess


def visible_studies(user) -> QuerySet[Study]:
    if not user.is_authenticated or not user.is_active:
        return Study.objects.none()
    if user.is_superuser or user.is_staff:
        return Study.objects.all()
    # Until roles arrive (people-and-access issue): a user sees the studies they were given
    # access to, which today means the studies they uploaded into.
    return Study.objects.filter(Exists(StudyAccess.objects.filter(study=OuterRef("pk"), user=user)))


def visible_series(user) -> QuerySet[Series]:
    return Series.objects.filter(study__in=visible_studies(user))


def visible_instances(user) -> QuerySet[Instance]:
    return Instance.objects.filter(series__study__in=visible_studies(user))


def study_for(user, study_instance_uid: str) -> Study:
    try:
        return visible_studies(user).select_related("patient").get(study_instance_uid=study_instance_uid)
    except Study.DoesNotExist:
        raise Http404("No such study") from None


def instance_for(user, study_uid: str, series_uid: str, sop_uid: str) -> Instance:
    """One instance addressed DICOMweb-style; 404 unless the whole path matches and is visible."""
    try:
        # The DICOM JSON is the row's bulk; the image endpoints never need it (loaded lazily if asked).
        return visible_instances(user).select_related("series__study").defer("dicom_json").get(
            sop_instance_uid=sop_uid, series__series_instance_uid=series_uid, series__study__study_instance_uid=study_uid
        )
    except Instance.DoesNotExist:
        raise Http404("No such instance") from None
