"""The signed report as a PDF: letterhead, patient and study data, status, sections, critical
result, key images, signature block, addenda; page numbers and report id/version on every page.

Every text in the document is untrusted (DICOM headers, what the radiologist typed): it goes
through ``fonts.markup`` (escaped for reportlab's Paragraph markup) or is drawn as a plain string.
The same document gives the same bytes (reportlab's ``invariant`` mode), so a PDF can be cached.
"""
from __future__ import annotations

import io
import logging

from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    Image,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from reports.outputs.document import ReportDocument
from reports.outputs.fonts import body_fonts, markup
from reports.outputs.text import (
    clean,
    effective_status,
    format_date,
    format_datetime,
    format_person_name,
    format_sex,
    status_label,
)

logger = logging.getLogger(__name__)

PAGE = A4
MARGIN = 18 * mm
FOOTER_Y = 10 * mm
ACCENT = colors.HexColor("#1f3a5f")
CRITICAL = colors.HexColor("#b00020")
WATERMARKS = {"preliminary": "PRELIMINARY", "cancelled": "CANCELLED"}
FIGURE_MAX = (120 * mm, 90 * mm)


def render_pdf(doc: ReportDocument) -> bytes:
    """The report as PDF bytes."""
    regular, bold = body_fonts()
    styles = _styles(regular, bold)
    buffer = io.BytesIO()
    template = BaseDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        title=f"Radiology report {doc.report_id} v{doc.version}",
        author=clean(doc.institution),
        creator="Lumen PACS",
        invariant=1,
    )
    frame = Frame(template.leftMargin, template.bottomMargin, template.width, template.height, id="body")
    watermark = WATERMARKS.get(effective_status(doc))
    template.addPageTemplates([PageTemplate(id="report", frames=[frame], onPage=lambda c, d: _watermark(c, watermark, bold))])
    footer = f"Report {doc.report_id} · version {doc.version} · {status_label(doc)}"
    template.build(_story(doc, styles, template.width), canvasmaker=_numbered_canvas(footer, regular))
    return buffer.getvalue()


def _styles(regular: str, bold: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=regular, fontSize=10, leading=13.5)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=11, textColor=colors.HexColor("#444444")),
        "label": ParagraphStyle("label", parent=base, fontSize=8.5, leading=11, textColor=colors.HexColor("#555555")),
        "institution": ParagraphStyle("institution", parent=base, fontName=bold, fontSize=16, leading=20, textColor=ACCENT),
        "title": ParagraphStyle("title", parent=base, fontSize=11, leading=14, textColor=ACCENT),
        "status": ParagraphStyle("status", parent=base, fontName=bold, fontSize=11, leading=14, alignment=TA_RIGHT),
        "heading": ParagraphStyle("heading", parent=base, fontName=bold, fontSize=11, leading=14, spaceBefore=8, spaceAfter=3, textColor=ACCENT, keepWithNext=1),
        "banner": ParagraphStyle("banner", parent=base, fontName=bold, fontSize=10.5, leading=14, alignment=TA_CENTER, textColor=colors.white),
        "critical": ParagraphStyle("critical", parent=base, fontName=bold, fontSize=11, leading=14, textColor=CRITICAL),
        "caption": ParagraphStyle("caption", parent=base, fontSize=8.5, leading=11, alignment=TA_CENTER),
    }


def _story(doc: ReportDocument, styles: dict, width: float) -> list:
    story = [_letterhead(doc, styles, width), Spacer(1, 4 * mm), _patient_block(doc, styles, width), Spacer(1, 3 * mm)]
    banner = _status_banner(doc, styles, width)
    if banner is not None:
        story += [banner, Spacer(1, 3 * mm)]
    if doc.critical:
        story += [_critical_box(doc, styles, width), Spacer(1, 2 * mm)]
    for heading, text in doc.sections:
        if not clean(text).strip():
            continue
        story.append(Paragraph(markup(heading), styles["heading"]))
        story += [Paragraph(markup(part), styles["body"]) for part in _paragraphs(text)]
    if doc.key_images:
        figures = _figures(doc, styles)
        # The heading goes with the first figure, never alone at the foot of a page.
        story.append(KeepTogether([Paragraph("Key images", styles["heading"]), figures[0]]))
        story += figures[1:]
    story += [Spacer(1, 5 * mm), _signature(doc.signed_by, doc.signed_at, styles, width, "Electronically signed")]
    for number, addendum in enumerate(doc.addenda, start=1):
        block = [Paragraph(f"Addendum {number}", styles["heading"])]
        block += [Paragraph(markup(part), styles["body"]) for part in _paragraphs(addendum.text)]
        block += [Spacer(1, 2 * mm), _signature(addendum.signed_by, addendum.signed_at, styles, width, f"Addendum {number} electronically signed")]
        story.append(KeepTogether(block[:2]))
        story += block[2:]
    return story


def _paragraphs(text: str) -> list[str]:
    """Blank lines separate paragraphs; single newlines stay line breaks inside one."""
    parts = [part.strip("\n") for part in clean(text).split("\n\n")]
    return [part for part in parts if part.strip()]


def _letterhead(doc: ReportDocument, styles: dict, width: float) -> Table:
    left = [Paragraph(markup(doc.institution), styles["institution"]), Paragraph("Radiology report", styles["title"])]
    colour = {"final": "#1b5e20", "amended": "#8a4b00"}.get(effective_status(doc), "#b00020")
    right = [Paragraph(f'<font color="{colour}">{markup(status_label(doc))}</font>', styles["status"])]
    table = Table([[left, right]], colWidths=[width * 0.7, width * 0.3])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LINEBELOW", (0, 0), (-1, 0), 1.2, ACCENT),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def _patient_block(doc: ReportDocument, styles: dict, width: float) -> Table:
    pairs = [
        ("Patient", format_person_name(doc.patient_name)),
        ("Patient ID", doc.patient_id),
        ("Birth date", format_date(doc.patient_birth_date)),
        ("Sex", format_sex(doc.patient_sex)),
        ("Accession", doc.accession_number),
        ("Study date", format_date(doc.study_date)),
        ("Study", doc.study_description),
        ("Modalities", ", ".join(doc.modalities)),
        ("Referring physician", format_person_name(doc.referring_physician)),
    ]
    cells = [[Paragraph(label, styles["label"]), Paragraph(markup(value) or "—", styles["body"])] for label, value in pairs]
    rows = [cells[i] + (cells[i + 1] if i + 1 < len(cells) else ["", ""]) for i in range(0, len(cells), 2)]
    # A UID has no break opportunity: it gets the whole row, in a smaller size.
    rows.append([Paragraph("Study UID", styles["label"]), Paragraph(markup(doc.study_instance_uid), styles["small"]), "", ""])
    label_width = 27 * mm
    value_width = width / 2 - label_width
    table = Table(rows, colWidths=[label_width, value_width, label_width, value_width])
    table.setStyle(
        TableStyle(
            [
                ("SPAN", (1, -1), (3, -1)),
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#f2f5f9")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOX", (0, 0), (-1, -1), 0.5, colors.HexColor("#c5cfdb")),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
            ]
        )
    )
    return table


def _status_banner(doc: ReportDocument, styles: dict, width: float) -> Table | None:
    text, colour = {
        "preliminary": ("PRELIMINARY REPORT — not yet final; the final report may differ", CRITICAL),
        "amended": (f"AMENDED — {len(doc.addenda)} addendum(s) below; the original signed text is kept unchanged", colors.HexColor("#8a4b00")),
        "cancelled": ("CANCELLED — this report has been withdrawn and must not be used", colors.HexColor("#444444")),
    }.get(effective_status(doc), (None, None))
    if text is None:
        return None
    table = Table([[Paragraph(text, styles["banner"])]], colWidths=[width])
    table.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), colour), ("TOPPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 4)]))
    return table


def _critical_box(doc: ReportDocument, styles: dict, width: float) -> Table:
    content = [Paragraph("CRITICAL RESULT", styles["critical"])]
    communication = clean(doc.critical_communication).strip()
    content.append(
        Paragraph(f"<b>Communicated:</b> {markup(communication)}", styles["body"])
        if communication
        else Paragraph("Communication not recorded.", styles["body"])
    )
    table = Table([[content]], colWidths=[width])
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.5, CRITICAL),
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#fdecee")),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    return table


def _figures(doc: ReportDocument, styles: dict) -> list:
    figures = []
    for number, key in enumerate(doc.key_images, start=1):
        caption = f"Figure {number}" + (f": {clean(key.caption)}" if clean(key.caption).strip() else "")
        caption_par = Paragraph(f"{markup(caption)}<br/><font size=7>image {markup(key.sop_instance_uid)}, frame {key.frame}</font>", styles["caption"])
        image = _image(key.png)
        if image is None:
            figures.append(Paragraph(f"{markup(caption)} — image not available", styles["small"]))
            continue
        figures.append(KeepTogether([Spacer(1, 2 * mm), image, Spacer(1, 1 * mm), caption_par]))
    return figures


def _image(png: bytes) -> Image | None:
    """A figure scaled into FIGURE_MAX, or None when the bytes are not a readable image."""
    if not png:
        return None
    try:
        with PILImage.open(io.BytesIO(png)) as probe:
            probe.verify()
        with PILImage.open(io.BytesIO(png)) as probe:
            pixel_width, pixel_height = probe.size
    except Exception:  # noqa: BLE001 - any decoder error means the same: no figure
        logger.warning("a key image of the report is not a readable image; printed without it")
        return None
    scale = min(FIGURE_MAX[0] / pixel_width, FIGURE_MAX[1] / pixel_height)
    return Image(io.BytesIO(png), width=pixel_width * scale, height=pixel_height * scale)


def _signature(signed_by: str, signed_at, styles: dict, width: float, label: str) -> Table:
    rows = [
        [Paragraph(f"<b>{label}</b>", styles["body"])],
        [Paragraph(f"Signed by: {markup(signed_by)}", styles["body"])],
        [Paragraph(f"Signed at: {markup(format_datetime(signed_at))}", styles["body"])],
    ]
    table = Table(rows, colWidths=[width * 0.6], hAlign="LEFT")
    table.setStyle(TableStyle([("LINEABOVE", (0, 0), (-1, 0), 0.8, ACCENT), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return KeepTogether([table])


def _watermark(canvas, text: str | None, font: str) -> None:
    """A large diagonal word under the page content (onPage runs before the flowables are drawn)."""
    if not text:
        return
    canvas.saveState()
    canvas.setFillColor(colors.Color(0.75, 0.1, 0.1, alpha=0.12))
    canvas.setFont(font, 80)
    canvas.translate(PAGE[0] / 2, PAGE[1] / 2)
    canvas.rotate(45)
    canvas.drawCentredString(0, 0, text)
    canvas.restoreState()


def _numbered_canvas(footer: str, font: str):
    """A canvas that writes "Page n of N" and the footer once the page count is known."""

    class NumberedCanvas(pdfcanvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.saveState()
                self.setFont(font, 8)
                self.setFillColor(colors.HexColor("#555555"))
                self.drawString(MARGIN, FOOTER_Y, footer)
                self.drawRightString(PAGE[0] - MARGIN, FOOTER_Y, f"Page {self._pageNumber} of {total}")
                self.restoreState()
                super().showPage()
            super().save()

    return NumberedCanvas
