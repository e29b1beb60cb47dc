"""Reads of the archive. ``visible_studies`` is the one rule for who may see which study:
every page, API, DICOMweb and image endpoint starts from it, so a study someone may not
see answers exactly like a study that does not exist (404).
"""
from __future__ import annotations

from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from accounts import roles
from accounts.roles import remember_role, role_of

from studies.models import Instance, Series, Study, StudyAccess
from studies.prepared import PreparedQuery


SEES_NOTHING = "sees nothing"


def visibility_shape(user) -> str | None:
    """What ``visible_studies``' SQL depends on besides the person's id (their role): the shape of
    a PreparedQuery built on it; SEES_NOTHING for the anonymous and inactive (no query to run)."""
    role = role_of(user)
    if role is None and not (user.is_authenticated and user.is_active):
        return SEES_NOTHING
    return role


def visible_studies(user) -> QuerySet[Study]:
    """Admin: every study. Radiologist: the reading pool (received over DICOM or submitted for
    reading) and the studies assigned to them. Referrer, patient, anyone else: the studies
    they uploaded into or that were shared with them (StudyAccess rows). ``is_staff`` only
    opens Django admin; it does not widen this rule.
    """
    role = visibility_shape(user)
    if role is SEES_NOTHING:
        return Study.objects.none()
    if role == roles.ADMIN:
        return Study.objects.all()
    granted = Exists(StudyAccess.objects.filter(study=OuterRef("pk"), user=user))
    if role == roles.RADIOLOGIST:
        return Study.objects.filter(Q(in_reading_pool=True) | granted)
    return Study.objects.filter(granted)


def granted_study_keys(user, *, at_most: int) -> QuerySet | None:
    """The study ids of ``user``'s access rows (a one-column queryset) when ``visible_studies`` is
    those rows alone (referrers, patients, people without a role) and they are at most
    ``at_most``; otherwise None.

    A hint for searches, which still filter by ``visible_studies``: looked up by these keys,
    PostgreSQL fetches the person's few studies, where it walked the whole archive newest first
    probing each study's access rows (~100 ms for 1,000 of 100,000 studies). For someone with
    very many rows that walk is the better plan, hence the cap.
    """
    role = role_of(user)
    if role in (roles.ADMIN, roles.RADIOLOGIST) or not (user.is_authenticated and user.is_active):
        return None
    granted = StudyAccess.objects.filter(user=user)
    if granted.values("pk")[: at_most + 1].count() > at_most:
        return None
    return granted.values("study_id")


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


class StoredInstance(NamedTuple):
    """Where one instance's file is: what retrieving its bytes or frames needs, nothing more."""

    id: int
    series_id: int
    storage_key: str
    transfer_syntax_uid: str
    sha256: str


def stored_instance(user, study_uid: str, series_uid: str, sop_uid: str) -> StoredInstance:
    """``instance_for`` without the models: one row of five columns, by SQL compiled once per role
    (studies/prepared.py). The hot path of a viewer, which fetches a series frame by frame."""
    shape = visibility_shape(user)
    rows = [] if shape is SEES_NOTHING else _stored_instance.rows(shape, user_id=user.pk, study=study_uid, series=series_uid, sop=sop_uid)
    if not rows:
        raise Http404("No such instance")
    return StoredInstance(*rows[0])


def stand_in(role: str | None, user_id: int):
    """A person of ``role`` whose id is ``user_id``: builds the visibility rule a PreparedQuery compiles."""
    person = get_user_model()(pk=user_id, is_active=True)
    remember_role(person, role)
    return person


def _stored_instance_query(role: str | None, *, user_id: int, study: str, series: str, sop: str) -> QuerySet:
    return (
        visible_instances(stand_in(role, user_id))
        .filter(sop_instance_uid=sop, series__series_instance_uid=series, series__study__study_instance_uid=study)
        .values_list(*StoredInstance._fields)
    )


_stored_instance = PreparedQuery(_stored_instance_query, user_id=int, study=str, series=str, sop=str)
