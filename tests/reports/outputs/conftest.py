"""A real study in the archive (three slices of the abdomen CT, ingested through the funnel) and
report documents written by hand for it, the way reports.documents builds them."""
from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from PIL import Image

from reports.outputs.document import Addendum, KeyImage, ReportDocument
from studies.ingest import Origin, ingest_file
from tests.conftest import CT_ABDOMEN

FINDINGS = "Segment VI hypodense lesion, 14 mm, unchanged in size."
IMPRESSION = "Stable solitary liver metastasis."


@pytest.fixture
def abdomen_study(alice):
    """Alice uploaded three slices of the abdomen CT for reading; returns the Study row."""
    files = sorted(p for p in Path(CT_ABDOMEN).iterdir() if p.suffix == ".dcm")[:3]
    if len(files) < 3:
        pytest.skip("the abdomen CT sample is not available")
    for path in files:
        result = ingest_file(path, origin=Origin(user_id=alice.id, for_reading=True))
        assert result.ok, result.reason
    from studies.models import Study

    return Study.objects.select_related("patient").get()


def png(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((width, height)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def final_doc(abdomen_study) -> ReportDocument:
    """A final report on the abdomen study with one key image (its second slice)."""
    study = abdomen_study
    key = study.series.get().instances.order_by("instance_number")[1]
    return ReportDocument(
        report_id=41,
        version=1,
        status="final",
        patient_name=study.patient.patient_name,
        patient_id=study.patient.patient_id,
        patient_birth_date=study.patient.patient_birth_date or date(1960, 5, 17),
        patient_sex=study.patient.patient_sex or "F",
        study_instance_uid=study.study_instance_uid,
        accession_number=study.accession_number or "ACC-41",
        study_date=study.study_date,
        study_description=study.study_description or "CT abdomen",
        modalities=tuple(m for m in study.modalities_in_study.split("\\") if m),
        referring_physician="House^Gregory^^Dr",
        sections=(
            ("Clinical information", "Colorectal cancer, follow-up."),
            ("Technique", "Contrast-enhanced CT, portal venous phase, 5 mm."),
            ("Findings", FINDINGS),
            ("Impression", IMPRESSION),
        ),
        signed_by="Rita Radiologist",
        signed_at=datetime(2024, 3, 4, 10, 30, tzinfo=UTC),
        institution="Lumen Teaching Hospital",
        key_images=(
            KeyImage(
                series_instance_uid=key.series.series_instance_uid,
                sop_instance_uid=key.sop_instance_uid,
                sop_class_uid=key.sop_class_uid,
                frame=1,
                png=png(),
                caption="Lesion in segment VI",
            ),
        ),
    )


def amended(doc: ReportDocument, text: str = "Comparison with the 2023 CT added: the lesion is unchanged.") -> ReportDocument:
    """``doc`` with one signed addendum: the next version."""
    addendum = Addendum(text=text, signed_by="Rita Radiologist", signed_at=datetime(2024, 3, 5, 8, 15, tzinfo=UTC))
    return replace(doc, version=doc.version + 1, status="amended", addenda=doc.addenda + (addendum,))
