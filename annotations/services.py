"""Writes of annotations and key images: keyword-only, one person's own rows on a study the
caller already found through ``studies.selectors.study_for`` (the visibility rule).

What is refused raises ``Refused`` with the field at fault (or none) and an HTTP status, so the
API answers 400/409 with a message the viewer can show.
"""
from __future__ import annotations

import json
import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from annotations import selectors
from annotations.models import MAX_FRAME, TOOLS, UID_PATTERN, Annotation, KeyImage

MAX_DATA_BYTES = 64 * 1024  # one Cornerstone annotation is 1-3 KB; a freehand ROI of 1,000 points ~40 KB
MAX_DATA_DEPTH = 32  # Cornerstone nests 6 deep (data.handles.textBox.worldBoundingBox.topLeft[0])
MAX_ANNOTATIONS_PER_STUDY = 2000  # per person: a long follow-up read is a few hundred
MAX_KEY_IMAGES_PER_STUDY = 500


class Refused(Exception):
    def __init__(self, message: str, *, field: str | None = None, status: int = 400, code: str = "invalid"):
        super().__init__(message)
        self.message, self.field, self.status, self.code = message, field, status, code


def check_uid(uid: str) -> None:
    if not isinstance(uid, str) or not re.fullmatch(UID_PATTERN, uid):
        raise Refused("1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'.", field="uid")


def check_tool(tool: str) -> None:
    if tool not in TOOLS:
        raise Refused(f"Unknown tool {tool!r}. Allowed: {', '.join(TOOLS)}.", field="tool")


def check_data(data) -> None:
    """A JSON object of at most MAX_DATA_BYTES (compact UTF-8) and MAX_DATA_DEPTH levels, whose
    text PostgreSQL can store (no NUL, no lone surrogates)."""
    if not isinstance(data, dict):
        raise Refused("Must be a JSON object (the Cornerstone annotation).", field="data")
    stack = [(data, 1)]
    while stack:  # iterative: a hostile nesting must not reach Python's recursion limit
        value, depth = stack.pop()
        if depth > MAX_DATA_DEPTH:
            raise Refused(f"Nested deeper than {MAX_DATA_DEPTH} levels.", field="data")
        if isinstance(value, dict):
            for key, child in value.items():
                _check_text(key)
                stack.append((child, depth + 1))
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value)
        elif isinstance(value, str):
            _check_text(value)
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_DATA_BYTES:
        raise Refused(f"{size} bytes of JSON; at most {MAX_DATA_BYTES} are kept per annotation.", field="data")


def _check_text(text: str) -> None:
    # PostgreSQL's jsonb stores no U+0000, and UTF-8 has no lone surrogates (JSON "\ud800").
    if "\x00" in text:
        raise Refused("Text may not contain NUL characters.", field="data")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused("Text may not contain lone surrogate characters.", field="data") from None


def _image(study, series_uid: str, sop_uid: str, frame: int):
    instance = selectors.instance_of_study(study, series_uid, sop_uid)
    if instance is None:
        raise Refused(f"No instance {sop_uid} in series {series_uid} of this study.", field="sop_instance_uid")
    if not 1 <= frame <= min(instance.number_of_frames or 1, MAX_FRAME):
        raise Refused(f"Frame {frame} is outside this instance's frames 1-{instance.number_of_frames or 1}.", field="frame")
    return instance


# --- Annotations -------------------------------------------------------------------------------


def annotation_create(*, user, study, uid: str, tool: str, series_uid: str, sop_uid: str, frame: int = 1,
                      data: dict, label: str = "") -> Annotation:
    """A new annotation; a UID this person already used on this study is a conflict (PUT changes it)."""
    check_uid(uid)
    fields = _annotation_fields(study, tool=tool, series_uid=series_uid, sop_uid=sop_uid, frame=frame, data=data, label=label)
    _check_room(user, study)
    try:
        with transaction.atomic():
            return Annotation.objects.create(user=user, study=study, uid=uid, **fields)
    except IntegrityError:
        raise Refused(f"Annotation {uid} exists on this study; PUT its URL to change it.", status=409, code="conflict") from None


def annotation_put(*, user, study, uid: str, tool: str, series_uid: str, sop_uid: str, frame: int = 1,
                   data: dict, label: str = "") -> tuple[Annotation, bool]:
    """Create or replace this person's annotation ``uid`` (an upsert, so the viewer can save
    without knowing whether it saved before). Returns the row and whether it was created."""
    check_uid(uid)
    fields = _annotation_fields(study, tool=tool, series_uid=series_uid, sop_uid=sop_uid, frame=frame, data=data, label=label)
    for _ in range(2):
        with transaction.atomic():
            updated = Annotation.objects.filter(user=user, study=study, uid=uid).update(**fields, updated_at=timezone.now())
            if updated:
                return selectors.annotation_for(user, study, uid), False
        _check_room(user, study)
        try:
            with transaction.atomic():
                return Annotation.objects.create(user=user, study=study, uid=uid, **fields), True
        except IntegrityError:
            continue  # a concurrent PUT of the same UID created it first: update that row
    raise Refused(f"Annotation {uid} is being changed by another request; try again.", status=409, code="conflict")


def annotation_delete(*, annotation: Annotation) -> None:
    annotation.delete()


def _annotation_fields(study, *, tool, series_uid, sop_uid, frame, data, label) -> dict:
    check_tool(tool)
    check_data(data)
    instance = _image(study, series_uid, sop_uid, frame)
    return {"tool": tool, "instance": instance, "frame": frame, "data": data, "label": label}


def _check_room(user, study) -> None:
    if Annotation.objects.filter(user=user, study=study).count() >= MAX_ANNOTATIONS_PER_STUDY:
        raise Refused(f"At most {MAX_ANNOTATIONS_PER_STUDY} annotations per person and study.", status=409, code="limit_reached")


# --- Key images --------------------------------------------------------------------------------


def key_image_mark(*, user, study, series_uid: str, sop_uid: str, frame: int = 1, note: str = "") -> tuple[KeyImage, bool]:
    """Mark one frame as a key image. Marking it again returns the first mark (no twin), with
    the note replaced when a non-empty one is given. Returns the row and whether it is new."""
    instance = _image(study, series_uid, sop_uid, frame)
    existing = KeyImage.objects.filter(user=user, instance=instance, frame=frame).first()
    if existing is None:
        if KeyImage.objects.filter(user=user, study=study).count() >= MAX_KEY_IMAGES_PER_STUDY:
            raise Refused(f"At most {MAX_KEY_IMAGES_PER_STUDY} key images per person and study.", status=409, code="limit_reached")
        try:
            with transaction.atomic():
                return KeyImage.objects.create(user=user, study=study, instance=instance, frame=frame, note=note), True
        except IntegrityError:  # the same mark sent twice at once: the database kept one
            existing = KeyImage.objects.get(user=user, instance=instance, frame=frame)
    if note and note != existing.note:
        existing.note = note
        existing.save(update_fields=["note"])
    return selectors.key_image_for(user, study, existing.pk), False


def key_image_unmark(*, key_image: KeyImage) -> None:
    key_image.delete()
