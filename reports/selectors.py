"""Reads of the reading workflow. Every read starts from ``studies.selectors.visible_studies``:
a report on a study someone may not see answers exactly like a report that does not exist.

Radiologists and admins ("readers") see every report of the studies they see, drafts included.
Everybody else (referrers, patients, people a study was shared with) sees only reports with
signed text (preliminary, final, amended), and only the signed versions of them.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Avg, Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet
from django.http import Http404

from accounts import roles
from reports import workflow
from reports.models import Notification, Report, ReportTemplate, ReportVersion, TextMacro
from studies.models import Series
from studies.selectors import visible_studies

READER_ROLES = (roles.ADMIN, roles.RADIOLOGIST)


def is_reader(user) -> bool:
    """Radiologists and admins work the worklist; everybody else only reads signed reports."""
    return roles.role_of(user) in READER_ROLES


def visible_reports(user) -> QuerySet[Report]:
    reports = Report.objects.filter(study__in=visible_studies(user))
    if not is_reader(user):
        reports = reports.filter(status__in=workflow.SIGNED)
    return reports


def report_for(user, report_id) -> Report:
    """One visible report (study and patient joined); 404 otherwise."""
    try:
        return visible_reports(user).select_related("study__patient", "holder").get(pk=int(report_id))
    except (Report.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such report") from None


def visible_versions(user, report: Report) -> QuerySet[ReportVersion]:
    """The versions of a report ``user`` already found through ``report_for``: signed ones only,
    plus the draft for readers."""
    versions = report.versions.select_related("author").order_by("number")
    return versions if is_reader(user) else versions.filter(signed_at__isnull=False)


def signed_versions(report: Report) -> QuerySet[ReportVersion]:
    return report.versions.filter(signed_at__isnull=False).select_related("author").order_by("number")


def latest_signed(report: Report) -> ReportVersion | None:
    return signed_versions(report).last()


def draft_of(report: Report) -> ReportVersion | None:
    return report.versions.filter(signed_at__isnull=True).first()


# --- Worklist -----------------------------------------------------------------------------------

SORTS = {
    "priority": ("priority_rank", "complete_at", "id"),  # STAT first, then longest waiting
    "waiting": ("complete_at", "id"),  # longest waiting first
    "-waiting": ("-complete_at", "-id"),  # newest first
    "status": ("status", "priority_rank", "complete_at", "id"),
    "patient": ("study__patient__patient_name_search", "id"),
}


@dataclass(frozen=True)
class WorklistFilter:
    statuses: tuple[str, ...] = workflow.OPEN
    priority: str = ""
    modality: str = ""
    body_part: str = ""
    holder: str = ""  # "", "me", "none" or a user name
    sort: str = "priority"


def worklist(user, criteria: WorklistFilter) -> QuerySet[Report]:
    """The reports a reader may work on, filtered and sorted; empty for anybody else."""
    if not is_reader(user):
        return Report.objects.none()
    reports = Report.objects.filter(study__in=visible_studies(user)).select_related("study__patient", "holder")
    if criteria.statuses:
        reports = reports.filter(status__in=criteria.statuses)
    if criteria.priority:
        reports = reports.filter(priority=criteria.priority)
    if criteria.modality:
        modality = criteria.modality.upper()
        reports = reports.filter(
            Q(study__modalities_in_study=modality)
            | Q(study__modalities_in_study__startswith=modality + "\\")
            | Q(study__modalities_in_study__endswith="\\" + modality)
            | Q(study__modalities_in_study__contains="\\" + modality + "\\")
        )
    if criteria.body_part:
        parts = Series.objects.filter(study=OuterRef("study"), body_part_examined__iexact=criteria.body_part)
        reports = reports.filter(Exists(parts))
    if criteria.holder == "me":
        reports = reports.filter(holder=user)
    elif criteria.holder == "none":
        reports = reports.filter(holder__isnull=True)
    elif criteria.holder:
        reports = reports.filter(holder__username=criteria.holder)
    return reports.order_by(*SORTS.get(criteria.sort, SORTS["priority"]))


def body_parts_of(study_ids) -> dict[int, list[str]]:
    """{study id: its series' body parts}, one query for a page of the worklist."""
    parts: dict[int, list[str]] = {}
    rows = Series.objects.filter(study_id__in=list(study_ids)).exclude(body_part_examined="")
    for study_id, part in rows.values_list("study_id", "body_part_examined").distinct().order_by("study_id", "body_part_examined"):
        parts.setdefault(study_id, []).append(part)
    return parts


# --- Portal -------------------------------------------------------------------------------------


def reported_studies(user, study_ids) -> dict[int, Report]:
    """{study id: its reported (final or amended) report} among ``study_ids`` that ``user`` sees."""
    reports = visible_reports(user).filter(study_id__in=list(study_ids), status__in=workflow.CLOSED)
    return {report.study_id: report for report in reports}


def report_of_study(user, study) -> Report | None:
    """The live report of a study, if ``user`` may see it (the study page shows it)."""
    return visible_reports(user).filter(study=study).exclude(status=workflow.CANCELLED).select_related("holder").first()


# --- Editor -------------------------------------------------------------------------------------


def templates_for(user, *, modalities, body_parts) -> QuerySet[ReportTemplate]:
    """Global and the user's own templates that fit the study (an empty modality/body part fits any)."""
    modalities = [m.upper() for m in modalities]
    body_parts = [b.upper() for b in body_parts]
    return ReportTemplate.objects.filter(
        Q(owner__isnull=True) | Q(owner=user),
        Q(modality="") | Q(modality__in=modalities),
        Q(body_part="") | Q(body_part__in=body_parts),
    ).order_by("owner_id", "name")


def macros_for(user) -> QuerySet[TextMacro]:
    return TextMacro.objects.filter(Q(owner__isnull=True) | Q(owner=user)).order_by("name")


# --- Notifications ------------------------------------------------------------------------------


def notifications_of(user) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user)


def unread_count(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


# --- Turnaround ---------------------------------------------------------------------------------

TURNAROUND = ExpressionWrapper(F("final_at") - F("complete_at"), output_field=DurationField())


def turnaround_per_study(limit: int = 200) -> QuerySet[Report]:
    """Finalised reads, newest first, each with ``turnaround`` (study complete → final)."""
    return (
        Report.objects.filter(final_at__isnull=False)
        .select_related("study__patient", "final_by")
        .annotate(turnaround=TURNAROUND)
        .order_by("-final_at")[:limit]
    )


def turnaround_per_radiologist() -> list[dict]:
    """Per signing radiologist: number of final reads and their average turnaround."""
    rows = (
        Report.objects.filter(final_at__isnull=False)
        .values("final_by__username")
        .annotate(reads=Count("id"), average=Avg(TURNAROUND))
        .order_by("final_by__username")
    )
    return [{"radiologist": row["final_by__username"] or "(deleted)", "reads": row["reads"], "average": row["average"]} for row in rows]
