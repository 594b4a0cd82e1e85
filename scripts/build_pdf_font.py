"""Build the font the PDF check record embeds: Noto Sans CJK SC Regular, cut to the scripts supplier names use.

Usage: python scripts/build_pdf_font.py [--source NotoSansCJK-Regular.ttc] [--out screener/fonts/]

The source is Debian's `fonts-noto-cjk` (upstream github.com/notofonts/noto-cjk, SIL Open Font License 1.1; the
licence travels beside the font as OFL.txt). The subset keeps Latin (with Latin-1 and Latin Extended-A), general
and CJK punctuation, full-width forms and every CJK Unified Ideograph (U+4E00-9FFF), drops hinting and layout
features, and turns the cubic CFF outlines into TrueType ones: fpdf2 embeds TrueType fonts with an Identity-H
encoding that every PDF reader and text extractor reads. The PDF itself embeds only the glyphs it uses.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

REPO = Path(__file__).resolve().parent.parent
SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
FACE = "Noto Sans CJK SC"
OUT_NAME = "NotoSansCJKsc-Regular-subset.ttf"
RANGES = (
    (0x0020, 0x007E), (0x00A0, 0x017F),  # Basic Latin, Latin-1, Latin Extended-A
    (0x2000, 0x206F), (0x20AC, 0x20AC), (0x2100, 0x214F),  # punctuation, euro sign, letterlike symbols
    (0x3000, 0x303F), (0xFF00, 0xFFEF),  # CJK punctuation, full-width and half-width forms
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
)
MAX_CURVE_ERROR = 1.0  # font units (of 1,000 per em)


def face(collection: Path, family: str) -> TTFont:
    """The face of a font collection whose full name is `family`."""
    for font in TTCollection(collection).fonts:
        if font["name"].getDebugName(4) == family:
            return font
    raise SystemExit(f"{collection} has no face named {family!r}")


def cut(font: TTFont) -> None:
    """Keep the glyphs of RANGES, every name record, no hinting and no layout features."""
    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[code for first, last in RANGES for code in range(first, last + 1)])
    subsetter.subset(font)


def to_truetype(font: TTFont) -> None:
    """Replace the cubic CFF outlines with quadratic TrueType ones (glyf/loca)."""
    glyph_set = font.getGlyphSet()
    order = font.getGlyphOrder()
    glyf = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = order, {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, MAX_CURVE_ERROR, reverse_direction=True))
        glyf[name] = pen.glyph()
    for tag in ("CFF ", "VORG"):
        if tag in font:
            del font[tag]
    font["loca"], font["glyf"] = newTable("loca"), glyf
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion, maxp.numGlyphs = 0x00010000, len(order)
    for field in ("maxPoints", "maxContours", "maxCompositePoints", "maxCompositeContours", "maxTwilightPoints",
                  "maxStorage", "maxFunctionDefs", "maxInstructionDefs", "maxStackElements", "maxSizeOfInstructions",
                  "maxComponentElements", "maxComponentDepth"):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    font["head"].glyphDataFormat = 0
    font["post"].formatType = 2.0  # keep the glyph names: readers need not rebuild them from the cmap
    font["post"].extraNames, font["post"].mapping = [], {}
    font.sfntVersion = "\x00\x01\x00\x00"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help="NotoSansCJK-Regular.ttc (fonts-noto-cjk)")
    parser.add_argument("--out", type=Path, default=REPO / "screener" / "fonts")
    arguments = parser.parse_args()
    font = face(arguments.source, FACE)
    cut(font)
    to_truetype(font)
    arguments.out.mkdir(parents=True, exist_ok=True)
    target = arguments.out / OUT_NAME
    font.save(target)
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB, {len(font.getGlyphOrder())} glyphs)")


if __name__ == "__main__":
    main()
