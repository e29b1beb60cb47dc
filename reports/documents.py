"""A signed report version as a ``ReportDocument``: the plain data every output reads (PDF, SR,
FHIR). Built here from the models once; outputs never query the database for report content."""
from __future__ import annotations

import logging

from django.conf import settings

from reports import workflow
from reports.models import Report, ReportVersion
from reports.outputs.document import SECTIONS, Addendum, KeyImage, ReportDocument
from studies import rendering
from studies.models import Instance

logger = logging.getLogger(__name__)

KEY_IMAGE_SIDE = 512  # pixels: enough for a printed figure, small enough for the SR and the PDF


def display_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def document_for(version: ReportVersion, *, with_images: bool = True) -> ReportDocument:
    """The report as it stood when ``version`` was signed: its text, the addenda up to it."""
    if not version.is_signed:
        raise workflow.ReportError("only a signed version makes a report document")
    report = Report.objects.select_related("study__patient").get(pk=version.report_id)
    signed = list(
        ReportVersion.objects.filter(report=report, signed_at__isnull=False, number__lte=version.number)
        .select_related("author")
        .order_by("number")
    )
    base = next(v for v in reversed(signed) if v.kind != workflow.ADDENDUM)
    addenda = [v for v in signed if v.kind == workflow.ADDENDUM and v.number > base.number]
    study, patient = report.study, report.study.patient
    status = workflow.AMENDED if addenda else base.kind
    critical_versions = [v for v in (base, *addenda) if v.critical]
    return ReportDocument(
        report_id=report.pk,
        version=len(signed),
        status=status,
        patient_name=patient.patient_name,
        patient_id=patient.patient_id,
        patient_birth_date=patient.patient_birth_date,
        patient_sex=patient.patient_sex,
        study_instance_uid=study.study_instance_uid,
        accession_number=study.accession_number,
        study_date=study.study_date,
        study_description=study.study_description,
        modalities=tuple(study.modalities),
        referring_physician=report.referring_physician or study.referring_physician_name,
        sections=tuple((heading, base.section_text(name)) for name, heading in SECTIONS if base.section_text(name).strip()),
        signed_by=display_name(base.author),
        signed_at=base.signed_at,
        institution=settings.LUMEN_INSTITUTION_NAME,
        addenda=tuple(Addendum(text=v.text, signed_by=display_name(v.author), signed_at=v.signed_at) for v in addenda),
        critical=bool(critical_versions),
        critical_communication="; ".join(communication(v) for v in critical_versions if communication(v)),
        key_images=tuple(render_key_images(report.study_id, base.key_images)) if with_images else (),
    )


def communication(version: ReportVersion) -> str:
    """"Told <whom> at <when>" as the radiologist recorded it ("" when nothing was recorded)."""
    if not version.critical_told:
        return ""
    when = f" at {version.critical_told_at:%Y-%m-%d %H:%M %Z}" if version.critical_told_at else ""
    return f"Told {version.critical_told}{when}"


def render_key_images(study_id: int, refs: list[dict]) -> list[KeyImage]:
    """The figures of a signed version, rendered to PNG; an image gone from the archive is left out."""
    images = []
    for ref in refs or []:
        instance = (
            Instance.objects.filter(
                series__study_id=study_id,
                series__series_instance_uid=ref.get("series_instance_uid", ""),
                sop_instance_uid=ref.get("sop_instance_uid", ""),
            )
            .defer("dicom_json")
            .first()
        )
        if instance is None:
            continue
        frame = int(ref.get("frame") or 1)
        try:
            png = rendering.render_frame(
                instance, frame, rendering.ImageOptions(media_type=rendering.PNG, max_side=KEY_IMAGE_SIDE)
            )
        except rendering.RenderError as exc:
            logger.warning("key image %s#%s of report study %s not rendered: %s", instance.sop_instance_uid, frame, study_id, exc)
            continue
        images.append(
            KeyImage(
                series_instance_uid=ref["series_instance_uid"],
                sop_instance_uid=instance.sop_instance_uid,
                sop_class_uid=instance.sop_class_uid,
                frame=frame,
                png=png,
                caption=str(ref.get("note") or ""),
            )
        )
    return images
