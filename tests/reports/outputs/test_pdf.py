"""The report PDF, read back with pypdf: what a person prints must be in it, literally."""
from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader

from reports.outputs.pdf import render_pdf
from tests.reports.outputs.conftest import FINDINGS, IMPRESSION, amended, png

pytestmark = pytest.mark.django_db


def read(pdf: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(pdf))
    # Line breaks depend on the layout; compare on single spaces.
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    return reader, text


def image_xobjects(reader: PdfReader) -> list:
    images = []
    for page in reader.pages:
        xobjects = page.get("/Resources", {}).get("/XObject", {})
        images += [xobjects[name].get_object() for name in xobjects if xobjects[name].get_object().get("/Subtype") == "/Image"]
    return images


def fonts(reader: PdfReader) -> set[str]:
    names = set()
    for page in reader.pages:
        for font in page.get("/Resources", {}).get("/Font", {}).values():
            names.add(str(font.get_object().get("/BaseFont")))
    return names


def test_the_pdf_has_the_patient_the_study_the_sections_and_the_signature(final_doc):
    reader, text = read(render_pdf(final_doc))

    assert reader.pages, "no page"
    for expected in (
        "Lumen Teaching Hospital",
        "Radiology report",
        "FINAL",
        final_doc.patient_name,  # "CRLM-CT-1006": a one-component name prints as it is
        final_doc.patient_id,
        final_doc.accession_number,
        final_doc.study_instance_uid,
        "House, Dr Gregory",
        "Findings",
        FINDINGS,
        "Impression",
        IMPRESSION,
        "Electronically signed",
        "Signed by: Rita Radiologist",
        "Signed at: 2024-03-04",
        "Report 41 · version 1 · FINAL",
        f"Page 1 of {len(reader.pages)}",
    ):
        assert expected in text, expected
    assert "PRELIMINARY" not in text


def test_the_key_image_is_embedded_as_a_figure_with_its_caption(final_doc):
    reader, text = read(render_pdf(final_doc))

    (image,) = image_xobjects(reader)
    assert (image["/Width"], image["/Height"]) == (64, 48)
    assert "Figure 1: Lesion in segment VI" in text


def test_a_key_image_that_is_not_an_image_is_named_but_not_drawn(final_doc):
    broken = replace(final_doc.key_images[0], png=b"not a png")
    reader, text = read(render_pdf(replace(final_doc, key_images=(broken,))))

    assert image_xobjects(reader) == []
    assert "Figure 1: Lesion in segment VI — image not available" in text


def test_markup_in_any_text_prints_literally(final_doc):
    doc = replace(
        final_doc,
        patient_name="<b>&x^<i>",
        study_description="CT <font size=40>&amp;",
        sections=(("Findings", "Lesion <b>&x</b> 5 < 7 & 9 > 3\nsecond line"),),
        signed_by="Dr <u>Evil</u>",
    )
    _, text = read(render_pdf(doc))

    assert "<b>&x, <i>" in text
    assert "CT <font size=40>&amp;" in text
    assert "Lesion <b>&x</b> 5 < 7 & 9 > 3 second line" in text
    assert "Signed by: Dr <u>Evil</u>" in text


def test_unicode_names_print_with_an_embedded_font(final_doc):
    doc = replace(final_doc, patient_name="Müller^Zoë=山田^太郎", signed_by="Ærøskøbing Ødegård", sections=(("Findings", "Ωμέγα ок 肝臓"),))
    reader, text = read(render_pdf(doc))

    assert "Müller, Zoë (山田 太郎)" in text
    assert "Ærøskøbing Ødegård" in text
    assert "Ωμέγα ок 肝臓" in text
    if Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").exists():
        assert any(name.endswith("+DejaVuSans") for name in fonts(reader)), fonts(reader)  # a subset, embedded


def test_a_preliminary_report_says_so_on_every_page(final_doc):
    long = replace(final_doc, status="preliminary", sections=(("Findings", "\n\n".join([FINDINGS] * 120)),))
    reader, text = read(render_pdf(long))

    assert len(reader.pages) > 1
    for page in reader.pages:
        assert "PRELIMINARY" in page.extract_text()
    assert "PRELIMINARY REPORT — not yet final" in text
    assert f"Page {len(reader.pages)} of {len(reader.pages)}" in text


def test_an_amended_report_keeps_the_original_and_signs_each_addendum(final_doc):
    doc = amended(final_doc)
    _, text = read(render_pdf(doc))

    assert "AMENDED" in text
    assert FINDINGS in text
    assert "Addendum 1 Comparison with the 2023 CT added: the lesion is unchanged." in text
    assert "Addendum 1 electronically signed Signed by: Rita Radiologist Signed at: 2024-03-05" in text
    assert "Report 41 · version 2 · AMENDED" in text


def test_a_critical_result_is_boxed_with_who_was_told(final_doc):
    doc = replace(final_doc, critical=True, critical_communication="Told Dr House by phone at 10:40")
    _, text = read(render_pdf(doc))

    assert "CRITICAL RESULT Communicated: Told Dr House by phone at 10:40" in text


def test_the_same_report_renders_the_same_bytes(final_doc):
    assert render_pdf(final_doc) == render_pdf(final_doc)


def test_a_cancelled_report_is_marked_cancelled(final_doc):
    _, text = read(render_pdf(replace(final_doc, status="cancelled", key_images=(), critical=False)))

    assert "CANCELLED — this report has been withdrawn" in text


def test_a_large_key_image_is_scaled_to_the_page(final_doc):
    big = replace(final_doc.key_images[0], png=png(2048, 1024))
    reader, _ = read(render_pdf(replace(final_doc, key_images=(big,))))

    (image,) = image_xobjects(reader)
    assert image["/Width"] == 2048  # embedded at full resolution, drawn within the figure box
    assert len(reader.pages) <= 2
