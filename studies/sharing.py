"""Sharing a study: with another person (a StudyAccess row of reason "shared") or by an
expiring, revocable link.

A link opens exactly one study, read-only, without a login: the shared pages
(frontend/share_views.py) resolve everything through ``link_study`` / ``link_series`` /
``link_instance`` here, which are scoped to the link's study, so a link token can never
reach another study, and the logged-in endpoints (REST, DICOMweb) never accept a token.
Only the SHA-256 of the token is stored (it is a bearer secret, like a password reset link).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from accounts import roles
from audit import events as audit_events
from studies.models import Instance, Series, ShareLink, Study, StudyAccess
from studies.selectors import study_for

MAX_LINK_LIFETIME = timedelta(days=30)


class ShareRefused(Exception):
    """Shown to the person sharing; never reveals whether some other account or study exists."""


def share_with_user(*, by, study_uid: str, username: str) -> StudyAccess:
    """Give ``username`` the right to see a study ``by`` can see (404 if ``by`` cannot)."""
    study = study_for(by, study_uid)
    target = get_user_model().objects.filter(username=username, is_active=True).first()
    if target is None:
        raise ShareRefused("There is no active account with that user name.")
    if target.pk == by.pk:
        raise ShareRefused("You can already see this study.")
    try:
        with transaction.atomic():
            access, _ = StudyAccess.objects.get_or_create(
                user=target, study=study, defaults={"reason": StudyAccess.Reason.SHARED, "granted_by": by}
            )
    except IntegrityError:  # granted at the same moment by someone else
        access = StudyAccess.objects.get(user=target, study=study)
    audit_events.study_shared(actor=by, study=study, with_username=target.get_username())
    return access


def unshare_with_user(*, by, study_uid: str, username: str) -> bool:
    """Withdraw a share ``by`` granted (admins: any share). Uploads and assignments stay."""
    study = study_for(by, study_uid)
    rows = StudyAccess.objects.filter(study=study, user__username=username, reason=StudyAccess.Reason.SHARED)
    if not roles.is_admin(by):
        rows = rows.filter(granted_by=by)
    withdrawn = rows.delete()[0] > 0
    if withdrawn:
        audit_events.study_shared(actor=by, study=study, with_username=username, revoked=True)
    return withdrawn


def create_link(*, by, study_uid: str, lifetime: timedelta, allow_download: bool = False) -> tuple[ShareLink, str]:
    """A new link to a study ``by`` can see; returns the row and the token (shown once, never stored)."""
    study = study_for(by, study_uid)
    if lifetime <= timedelta(0) or lifetime > MAX_LINK_LIFETIME:
        raise ShareRefused(f"A link lives between a minute and {MAX_LINK_LIFETIME.days} days.")
    token = secrets.token_urlsafe(32)
    link = ShareLink.objects.create(
        study=study, token_hash=token_hash(token), created_by=by, expires_at=timezone.now() + lifetime, allow_download=allow_download
    )
    audit_events.study_shared(actor=by, study=study, link_expires=link.expires_at)
    return link, token


def revoke_link(*, by, link_id: int) -> bool:
    """The creator (or an admin) ends a link now; False if there is no such link of theirs."""
    links = ShareLink.objects.filter(pk=link_id, revoked_at__isnull=True)
    if not roles.is_admin(by):
        links = links.filter(created_by=by)
    return links.update(revoked_at=timezone.now()) == 1


def links_of(*, user, study: Study):
    """The links shown on the study page: one's own (admins: all) still working."""
    links = ShareLink.objects.filter(study=study, revoked_at__isnull=True, expires_at__gt=timezone.now())
    return links if roles.is_admin(user) else links.filter(created_by=user)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def active_link(token: str) -> ShareLink:
    """The working link with this token; a wrong, expired or revoked token answers the same 404."""
    if not token or len(token) > 128:
        raise Http404("No such link")
    link = (
        ShareLink.objects.filter(token_hash=token_hash(token), revoked_at__isnull=True, expires_at__gt=timezone.now())
        .select_related("study__patient")
        .first()
    )
    if link is None:
        raise Http404("No such link")
    return link


def link_series(link: ShareLink, series_uid: str) -> Series:
    series = Series.objects.filter(study_id=link.study_id, series_instance_uid=series_uid).select_related("study__patient").first()
    if series is None:
        raise Http404("No such series")
    return series


def link_instance(link: ShareLink, series_uid: str, sop_uid: str) -> Instance:
    instance = (
        Instance.objects.filter(series__study_id=link.study_id, series__series_instance_uid=series_uid, sop_instance_uid=sop_uid)
        .select_related("series__study")
        .defer("dicom_json")
        .first()
    )
    if instance is None:
        raise Http404("No such instance")
    return instance


def assign_to_radiologist(*, by, study_uid: str, username: str) -> StudyAccess:
    """An admin gives a study outside the pool (e.g. an upload kept private) to one radiologist."""
    if not roles.is_admin(by):
        raise ShareRefused("Only an admin assigns studies to radiologists.")
    study = study_for(by, study_uid)
    target = get_user_model().objects.filter(username=username, is_active=True).first()
    if target is None or not roles.is_radiologist(target):
        raise ShareRefused("There is no active radiologist with that user name.")
    access, _ = StudyAccess.objects.get_or_create(
        user=target, study=study, defaults={"reason": StudyAccess.Reason.ASSIGNED, "granted_by": by}
    )
    return access
