"""The one place that decides the order of the images of a series.

Slices are sorted by their position along the slice normal,
ImagePositionPatient · (row cosines × column cosines) (PS3.3 C.7.6.2.1.1), falling back to
InstanceNumber, then AcquisitionTime, then the UID so the order is total and stable.
"""
from __future__ import annotations

from collections.abc import Sequence

from django.db.models import F, QuerySet

INSTANCE_ORDER = (
    F("slice_position").asc(nulls_last=True),
    F("instance_number").asc(nulls_last=True),
    "acquisition_time",
    "sop_instance_uid",
)


def slice_position(position: Sequence[float] | None, orientation: Sequence[float] | None) -> float | None:
    """Distance of a slice along its normal, or None when the geometry is missing or degenerate."""
    if not position or not orientation or len(position) != 3 or len(orientation) != 6:
        return None
    rx, ry, rz, cx, cy, cz = (float(v) for v in orientation)
    normal = (ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx)
    if abs(normal[0]) + abs(normal[1]) + abs(normal[2]) < 1e-6:
        return None
    return sum(float(p) * n for p, n in zip(position, normal))


def ordered(instances: QuerySet) -> QuerySet:
    """The instances of a series in reading order."""
    return instances.order_by(*INSTANCE_ORDER)
