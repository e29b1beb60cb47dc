"""A ReportDocument as JSON-safe data, so a Celery task can carry it (Celery's JSON serializer).

Dates and datetimes travel as ISO 8601 strings. Key-image PNGs do not travel by default: the
SR only references the images (UIDs and frame), and a task message should stay small; the
PDF is rendered where the PNGs were made. ``include_png=True`` keeps them (base64).
"""
from __future__ import annotations

import base64
from dataclasses import asdict
from datetime import date, datetime

from reports.outputs.document import Addendum, KeyImage, ReportDocument


def document_to_dict(doc: ReportDocument, *, include_png: bool = False) -> dict:
    data = asdict(doc)
    data["patient_birth_date"] = _iso(doc.patient_birth_date)
    data["study_date"] = _iso(doc.study_date)
    data["signed_at"] = doc.signed_at.isoformat()
    data["modalities"] = list(doc.modalities)
    data["sections"] = [[heading, text] for heading, text in doc.sections]
    data["addenda"] = [{"text": a.text, "signed_by": a.signed_by, "signed_at": a.signed_at.isoformat()} for a in doc.addenda]
    data["key_images"] = [
        {
            "series_instance_uid": k.series_instance_uid,
            "sop_instance_uid": k.sop_instance_uid,
            "sop_class_uid": k.sop_class_uid,
            "frame": k.frame,
            "caption": k.caption,
            **({"png": base64.b64encode(k.png).decode("ascii")} if include_png else {}),
        }
        for k in doc.key_images
    ]
    return data


def document_from_dict(data: dict) -> ReportDocument:
    """The inverse of ``document_to_dict``; key images without ``png`` get empty bytes."""
    values = dict(data)
    values["patient_birth_date"] = _date(values.get("patient_birth_date"))
    values["study_date"] = _date(values.get("study_date"))
    values["signed_at"] = datetime.fromisoformat(values["signed_at"])
    values["modalities"] = tuple(values.get("modalities") or ())
    values["sections"] = tuple((heading, text) for heading, text in values.get("sections") or ())
    values["addenda"] = tuple(
        Addendum(text=a["text"], signed_by=a["signed_by"], signed_at=datetime.fromisoformat(a["signed_at"]))
        for a in values.get("addenda") or ()
    )
    values["key_images"] = tuple(
        KeyImage(
            series_instance_uid=k["series_instance_uid"],
            sop_instance_uid=k["sop_instance_uid"],
            sop_class_uid=k["sop_class_uid"],
            frame=int(k["frame"]),
            png=base64.b64decode(k["png"]) if k.get("png") else b"",
            caption=k.get("caption", ""),
        )
        for k in values.get("key_images") or ()
    )
    return ReportDocument(**values)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
