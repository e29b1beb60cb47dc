"""The audited moments of the archive, one small function each, so the call site in the
service or view is one line. Every function writes at most one row (``services.record``).

Event ids follow the DICOM audit messages of PS3.15 A.5.3:
  study page / series viewer     110103 DICOM Instances Accessed   study-view
  rendered image or thumbnail    110103 DICOM Instances Accessed   image-download
  WADO-RS retrieve (files)       110104 DICOM Instances Transferred wado
  WADO-RS metadata/frames/bulk   110103 DICOM Instances Accessed   wado (frames: per person, series and window)
  QIDO-RS, C-FIND                110112 Query                      qido / c-find
  STOW-RS, upload                110107 Import                     stow / upload
  C-STORE (one per association)  110104 DICOM Instances Transferred c-store
  C-MOVE, C-GET                  110102 Begin Transferring DICOM Instances c-move / c-get
  a signed report stored as SR   110107 Import                     report-sr
  a visible-to-nobody 404        110113 Security Alert             access-denied
"""
from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.core.cache import cache

from audit.models import Action, Event, Outcome
from audit.services import record

MAX_LISTED_STUDIES = 50


def _outcome(failed: int, total: int) -> Outcome:
    # PS3.15 A.5.3.1: some failed → minor failure; nothing succeeded → serious failure.
    if not failed:
        return Outcome.SUCCESS
    return Outcome.SERIOUS_FAILURE if failed >= total else Outcome.MINOR_FAILURE


def _url_kwargs(request) -> dict:
    match = getattr(request, "resolver_match", None)
    return match.kwargs if match is not None else {}


# --- Web pages and image endpoints -----------------------------------------------------------


def study_viewed(request, study, *, series_uid: str = "") -> None:
    detail = {"series": series_uid} if series_uid else None
    record(Event.INSTANCES_ACCESSED, Action.STUDY_VIEW, request=request, study_uid=study.study_instance_uid, patient_id=study.patient.patient_id, detail=detail)


def image_sent(request, instance, frame: int, kind: str, *, not_modified: bool = False) -> None:
    """One rendered frame or thumbnail. The hot path: no query beyond the INSERT (the study UID
    comes with the instance's select_related; the patient is found through the study)."""
    if not _first_in_window(request, "image", instance.series_id):
        return
    detail = {"sop": instance.sop_instance_uid, "frame": frame, "kind": kind}
    if not_modified:
        detail["not_modified"] = True
    record(Event.INSTANCES_ACCESSED, Action.IMAGE_DOWNLOAD, request=request, study_uid=_study_uid_of(instance), detail=detail)


def _first_in_window(request, kind: str, series_id: int) -> bool:
    """Is this the person's first ``kind`` of image from the series in LUMEN_IMAGE_AUDIT_WINDOW seconds?

    Scrolling a series fetches hundreds of frames a minute: one row per person and series per
    window (the first frame's) records the access without an INSERT on every image (+4 ms p50
    on SQLite, measured). Per process; a restart may add a row."""
    user_id = getattr(getattr(getattr(request, "_request", request), "user", None), "pk", None)
    return cache.add(f"audit:{kind}:{user_id}:{series_id}", True, timeout=settings.LUMEN_IMAGE_AUDIT_WINDOW)


def _study_uid_of(instance) -> str:
    return instance.series.study.study_instance_uid


def access_denied(request, *, study_uid: str) -> None:
    """A 404 answered for a study that exists but this user may not see. The response stays
    the plain 404 (no existence oracle); only the trail knows."""
    from studies.models import Study
    from studies.selectors import visible_studies

    raw = getattr(request, "_request", request)
    # One row per request: a view and the REST API's exception handler may both report the same 404.
    if getattr(raw, "_lumen_denial_recorded", False) or "\x00" in (study_uid or ""):
        return
    user = getattr(raw, "user", None)
    if (
        study_uid
        and Study.objects.filter(study_instance_uid=study_uid).exists()
        # A missing series or instance inside a study this person sees is no denial.
        and not visible_studies(user).filter(study_instance_uid=study_uid).exists()
    ):
        record(Event.SECURITY_ALERT, Action.ACCESS_DENIED, request=request, study_uid=study_uid, outcome=Outcome.MINOR_FAILURE, detail={"path": request.path[:500]})
        raw._lumen_denial_recorded = True


# --- DICOMweb ----------------------------------------------------------------------------------


def wado_retrieved(request, what: str, *, count: int | None = None) -> None:
    """A WADO-RS answer: ``what`` is instances, metadata, frames or bulkdata."""
    kwargs = _url_kwargs(request)
    event = Event.INSTANCES_TRANSFERRED if what == "instances" else Event.INSTANCES_ACCESSED
    detail = {"what": what, **{k: v for k, v in kwargs.items() if k in ("series_uid", "sop_uid", "frames", "tag")}}
    if count is not None:
        detail["instances"] = count
    record(event, Action.WADO, request=request, study_uid=kwargs.get("study_uid", ""), detail=detail)


def wado_frames_retrieved(request, *, series_id: int, count: int) -> None:
    """WADO-RS frames: a viewer fetches a series one frame per request (140 for a head CT), so as
    for rendered images one row per person and series per window records the access."""
    if _first_in_window(request, "frames", series_id):
        wado_retrieved(request, "frames", count=count)


def qido_searched(request, level: str, *, results: int, scoped: str | None = None) -> None:
    kwargs = _url_kwargs(request)
    detail = {"level": level, "query": request.GET.urlencode()[:1000], "results": results}
    record(Event.QUERY, Action.QIDO, request=request, study_uid=kwargs.get("study_uid", ""), detail=detail)


def stow_stored(request, outcomes: list, *, study_uid: str | None) -> None:
    failed = sum(1 for o in outcomes if o.failure is not None)
    detail = {"instances": len(outcomes), "failed": failed}
    record(Event.IMPORT, Action.STOW, request=request, study_uid=study_uid or "", outcome=_outcome(failed, len(outcomes)), detail=detail)


# --- Uploads -------------------------------------------------------------------------------------


def upload_finished(job_id) -> None:
    """One row per finished upload job (not per file), with the owner and the item counts."""
    from studies.models import UploadItem, UploadJob

    job = UploadJob.objects.select_related("owner").get(pk=job_id)
    counts = Counter(job.items.exclude(status=UploadItem.Status.EXPANDED).values_list("status", flat=True))
    studies = sorted(set(job.items.exclude(study_instance_uid="").values_list("study_instance_uid", flat=True)))
    failed = counts.get(UploadItem.Status.REJECTED, 0)
    total = sum(counts.values())
    record(
        Event.IMPORT, Action.UPLOAD, user=job.owner, study_uid=studies[0] if len(studies) == 1 else "",
        outcome=_outcome(failed, total), detail={"job": str(job.pk), "items": dict(counts), "studies": studies[:MAX_LISTED_STUDIES]},
    )


# --- DIMSE -------------------------------------------------------------------------------------


def _peer(assoc) -> tuple[str, str | None]:
    requestor = assoc.requestor
    return requestor.ae_title.strip(), requestor.address_info.address


def store_counted(assoc, *, stored: bool, study_uid: str = "") -> None:
    """Count one C-STORE on the association; the row is written when it ends (``association_ended``)."""
    tally = getattr(assoc, "audit_stores", None)
    if tally is None:
        tally = assoc.audit_stores = {"stored": 0, "failed": 0, "studies": set()}
    tally["stored" if stored else "failed"] += 1
    if study_uid and len(tally["studies"]) < MAX_LISTED_STUDIES:
        tally["studies"].add(study_uid)


def association_ended(assoc, *, aborted: bool = False) -> None:
    """One 110104 row per association that stored anything, as IHE ATNA records a transfer."""
    tally = getattr(assoc, "audit_stores", None)
    if not tally:
        return
    assoc.audit_stores = None  # released and aborted can both fire: one row
    ae, ip = _peer(assoc)
    studies = sorted(tally["studies"])
    total = tally["stored"] + tally["failed"]
    detail = {"stored": tally["stored"], "failed": tally["failed"], "studies": studies}
    if aborted:
        detail["aborted"] = True
    record(
        Event.INSTANCES_TRANSFERRED, Action.C_STORE, ae=ae, ip=ip, study_uid=studies[0] if len(studies) == 1 else "",
        outcome=_outcome(tally["failed"], total), detail=detail,
    )


def find_answered(assoc, level: str, *, matches: int, refused: str = "") -> None:
    ae, ip = _peer(assoc)
    detail = {"level": level, "matches": matches}
    if refused:
        detail["refused"] = refused
    record(Event.QUERY, Action.C_FIND, ae=ae, ip=ip, outcome=Outcome.MINOR_FAILURE if refused else Outcome.SUCCESS, detail=detail)


def retrieve_started(assoc, action: Action, instances: list, *, destination: str = "") -> None:
    """C-MOVE / C-GET: the Begin Transferring event (PS3.15 A.5.3.3) with what is about to go."""
    from studies.models import Study

    ae, ip = _peer(assoc)
    ids = [i.pk for i in instances]
    studies = sorted(Study.objects.filter(series__instances__in=ids).values_list("study_instance_uid", flat=True).distinct()[:MAX_LISTED_STUDIES]) if ids else []
    detail = {"instances": len(instances), "studies": studies}
    if destination:
        detail["destination"] = destination
    record(Event.BEGIN_TRANSFERRING, action, ae=ae, ip=ip, study_uid=studies[0] if len(studies) == 1 else "", detail=detail)


def denied_on_404(uid_kwarg: str):
    """Decorate a page view: when it answers 404 for a study UID that exists, record the denial
    (``access_denied``) and re-raise the same 404."""
    from functools import wraps

    from django.http import Http404

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                return view(request, *args, **kwargs)
            except Http404:
                access_denied(request, study_uid=kwargs.get(uid_kwarg, ""))
                raise

        return wrapper

    return decorate


# --- People and sharing (called by the accounts and sharing services) ---------------------------


def role_changed(*, actor, user, old_role: str | None, new_role: str | None, request=None) -> None:
    """A person's role changed (PS3.15 A.5.3.11 Security Alert, "User security attributes changed")."""
    record(
        Event.SECURITY_ALERT, Action.ROLE_CHANGE, request=request, user=actor,
        detail={"target": user.get_username(), "target_id": user.pk, "from": old_role, "to": new_role},
    )


def study_shared(*, actor, study, request=None, with_username: str | None = None, link_expires=None, revoked: bool = False) -> None:
    """A study shared with a person or by link, or a share withdrawn (110106 Export: data made
    available outside its owner's view)."""
    detail = {"with": with_username, "link": with_username is None, "revoked": revoked}
    if link_expires is not None:
        detail["expires"] = link_expires.isoformat()
    record(Event.EXPORT, Action.SHARE, request=request, user=actor, study_uid=study.study_instance_uid, patient_id=study.patient.patient_id, detail=detail)


def account_changed(*, actor, user, change: str, request=None, detail: dict | None = None) -> None:
    """A person's account changed other than by role: ``change`` is invited, password-set,
    password-reset-sent, deactivated, reactivated, 2fa-enrolled, 2fa-reset or 2fa-required
    (PS3.15 A.5.3.11 Security Alert, "User security attributes changed"). Recorded under the
    role-change action until the audit app has an action of its own for it (a migration)."""
    record(
        Event.SECURITY_ALERT, Action.ROLE_CHANGE, request=request, user=actor,
        detail={"change": change, "target": user.get_username(), "target_id": user.pk, **(detail or {})},
    )


# --- Reports (called by reports.services and the report pages) --------------------------------
# Reading a report is an access to the patient's record (110110 Patient Record, read);
# claiming, signing, addenda and cancelling change the procedure's record (110111 Procedure Record).

REPORT_VIEW, REPORT_CLAIM, REPORT_SIGN, REPORT_CANCEL, REPORT_CRITICAL = (
    Action.REPORT_VIEW, Action.REPORT_CLAIM, Action.REPORT_SIGN, Action.REPORT_CANCEL, Action.REPORT_CRITICAL
)


def _report_detail(report, **extra) -> dict:
    return {"report": report.pk, "status": report.status, **{k: v for k, v in extra.items() if v is not None}}


def report_viewed(request, report, *, what: str = "page") -> None:
    """A report read (page, PDF, SR, FHIR, API detail)."""
    study = report.study
    record(Event.PATIENT_RECORD, REPORT_VIEW, request=request, study_uid=study.study_instance_uid, patient_id=study.patient.patient_id, detail=_report_detail(report, what=what))


def report_claimed(*, actor, report, assigned_to: str | None = None, previous: str | None = None) -> None:
    """Claimed by a radiologist, or assigned / reassigned by an admin (``assigned_to``)."""
    record(Event.PROCEDURE_RECORD, REPORT_CLAIM, user=actor, study_uid=report.study.study_instance_uid, detail=_report_detail(report, assigned_to=assigned_to, previous=previous))


def report_signed(*, actor, report, version) -> None:
    """A version signed: preliminary, final or addendum (``kind``)."""
    detail = _report_detail(report, version=version.number, kind=version.kind, critical=version.critical or None)
    record(Event.PROCEDURE_RECORD, REPORT_SIGN, user=actor, study_uid=report.study.study_instance_uid, detail=detail)


def report_signature_refused(*, actor, reason: str) -> None:
    """A wrong password or TOTP code when signing (a minor failure, counted like a failed login)."""
    record(Event.USER_AUTHENTICATION, REPORT_SIGN, user=actor, outcome=Outcome.MINOR_FAILURE, detail={"refused": reason})


def report_cancelled(*, actor, report, reason: str) -> None:
    record(Event.PROCEDURE_RECORD, REPORT_CANCEL, user=actor, study_uid=report.study.study_instance_uid, detail=_report_detail(report, reason=reason[:200]))


def report_critical(*, actor, report) -> None:
    record(Event.PROCEDURE_RECORD, REPORT_CRITICAL, user=actor, study_uid=report.study.study_instance_uid, detail=_report_detail(report))


def report_sr_stored(*, report, version: int, sop_instance_uid: str) -> None:
    """The archive stored a signed version as a DICOM SR in the study (110107 Import; the actor
    is the archive itself, named by its AE title, since a worker task does it after signing)."""
    study = report.study
    detail = _report_detail(report, version=version, sop=sop_instance_uid)
    record(Event.IMPORT, Action.REPORT_SR, user=None, ae=settings.DICOM_AE_TITLE, study_uid=study.study_instance_uid,
           patient_id=study.patient.patient_id, detail=detail)
