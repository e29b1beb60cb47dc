"""The server-rendered pages: study list, study page, quick series view."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from frontend.forms import COMMON_MODALITIES, StudySearchForm
from studies import rendering
from studies.models import Series
from studies.ordering import ordered
from studies.search import page_of, search_studies
from studies.selectors import study_for, visible_series

# The named CT windows of the rendering module, as the preset list of the series view.
WINDOW_PRESETS = [{"name": f"CT {name}", "center": w.center, "width": w.width} for name, w in rendering.PRESETS.items()]


@login_required
def study_list(request):
    # An empty query string is a valid search for everything; invalid input shows its errors
    # instead of silently widening the search.
    form = StudySearchForm(request.GET)
    page = None
    if form.is_valid():
        page = page_of(search_studies(user=request.user, criteria=form.criteria()), _int(request.GET.get("page"), 1))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "frontend/study_list.html", {"form": form, "page": page, "query": query.urlencode(), "modality_codes": COMMON_MODALITIES}
    )


@login_required
def study_detail(request, uid: str):
    study = study_for(request.user, uid)
    series = study.series.order_by(F("series_number").asc(nulls_last=True), "series_instance_uid")
    return render(request, "frontend/study_detail.html", {"study": study, "patient": study.patient, "series_list": series})


@login_required
def series_view(request, study: str, series: str):
    series = get_object_or_404(
        visible_series(request.user).select_related("study__patient"),
        series_instance_uid=series,
        study__study_instance_uid=study,
    )
    return render(request, "frontend/series_view.html", {"series": series, "study": series.study, "config": viewer_config(series)})


def viewer_config(series: Series) -> dict:
    """What series_view.js needs, injected with json_script: the images in reading order and the URLs."""
    instances = ordered(series.instances.all()).values(
        "sop_instance_uid", "instance_number", "number_of_frames", "slice_location",
        "slice_thickness", "pixel_spacing", "window_center", "window_width",
    )
    return {
        "frameUrl": _frame_url_template(series),
        "presets": WINDOW_PRESETS,
        "instances": [
            {
                "sop": i["sop_instance_uid"],
                "number": i["instance_number"],
                "frames": i["number_of_frames"] or 1,
                "sliceLocation": i["slice_location"],
                "sliceThickness": i["slice_thickness"],
                "pixelSpacing": i["pixel_spacing"],
                "windowCenter": i["window_center"],
                "windowWidth": i["window_width"],
            }
            for i in instances
        ],
    }


def _frame_url_template(series: Series) -> str:
    # Reverse with marker values, then turn them into the {sop}/{frame} slots the script fills in.
    url = reverse(
        "dicomweb:rendered-frame",
        kwargs={
            "study_uid": series.study.study_instance_uid,
            "series_uid": series.series_instance_uid,
            "sop_uid": "SOPMARK",
            "frames": "987654321",
        },
    )
    return url.replace("SOPMARK", "{sop}").replace("987654321", "{frame}")


def _int(text, default: int) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return default

