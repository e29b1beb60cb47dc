"""Fonts for the PDF, and untrusted text turned into reportlab Paragraph markup.

Body text uses DejaVu Sans (Debian's fonts-dejavu-core, on our machine image; .ci/run installs
it when missing): Latin, Greek, Cyrillic and more, embedded in the PDF. If it is missing (the
slim Docker image has no fonts), the PDF falls back to Helvetica, which covers Western European
names only (others print as boxes).
DejaVu has no CJK glyphs: Japanese/Chinese runs use Adobe's HeiseiKakuGo-W5 and Korean Hangul
HYGothic-Medium, reportlab's built-in CID fonts. Those are referenced, not embedded: the viewer
supplies the glyphs (Acrobat does; poppler needs poppler-data and a CJK font). No font is
ever downloaded.
"""
from __future__ import annotations

import functools
import html
import logging
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

from reports.outputs.text import clean

logger = logging.getLogger(__name__)

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
JAPANESE = "HeiseiKakuGo-W5"
KOREAN = "HYGothic-Medium"


@functools.cache
def body_fonts() -> tuple[str, str]:
    """(regular, bold) font names, registered once per process."""
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("LumenSans", str(regular)))
            pdfmetrics.registerFont(TTFont("LumenSans-Bold", str(bold)))
            # <b> inside a Paragraph picks the bold face of the family.
            addMapping("LumenSans", 0, 0, "LumenSans")
            addMapping("LumenSans", 1, 0, "LumenSans-Bold")
            addMapping("LumenSans", 0, 1, "LumenSans")
            addMapping("LumenSans", 1, 1, "LumenSans-Bold")
            return "LumenSans", "LumenSans-Bold"
    logger.warning("DejaVu Sans is not installed (fonts-dejavu-core): report PDFs use Helvetica, Western names only")
    return "Helvetica", "Helvetica-Bold"


@functools.cache
def _cid_font(name: str) -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(name))
    return name


@functools.cache
def _covered(font_name: str) -> frozenset[int] | None:
    """Code points the body font has glyphs for; None for the standard fonts (WinAnsi)."""
    font = pdfmetrics.getFont(font_name)
    face = getattr(font, "face", None)
    char_to_glyph = getattr(face, "charToGlyph", None)
    return frozenset(char_to_glyph) if char_to_glyph else None


def _fallback_font(char: str, body: str) -> str | None:
    """The font for a character the body font lacks; None to keep the body font."""
    code = ord(char)
    covered = _covered(body)
    if covered is not None and code in covered:
        return None
    if covered is None and _winansi(char):
        return None
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return _cid_font(KOREAN)
    if (
        0x3000 <= code <= 0x30FF  # CJK punctuation, hiragana, katakana
        or 0x3400 <= code <= 0x4DBF  # CJK extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF  # half- and full-width forms
    ):
        return _cid_font(JAPANESE)
    return None


def _winansi(char: str) -> bool:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def markup(text: str) -> str:
    """Untrusted text as Paragraph markup: escaped (``<b>&x`` prints as typed), newlines as
    line breaks, and runs the body font cannot draw wrapped in a font that can."""
    body, _ = body_fonts()
    out: list[str] = []
    run: list[str] = []
    run_font: str | None = None

    def flush():
        if not run:
            return
        escaped = html.escape("".join(run), quote=False)
        out.append(f'<font name="{run_font}">{escaped}</font>' if run_font else escaped)
        run.clear()

    for char in clean(text):
        if char == "\n":
            flush()
            out.append("<br/>")
            continue
        font = None if char in " \t" else _fallback_font(char, body)
        if font != run_font and char not in " \t":
            flush()
            run_font = font
        run.append(char)
    flush()
    return "".join(out)
