"""The entity check record as a PDF: the content of the printable HTML record, with its content hash, and the JSON
record attached so anyone can recompute the hash. Drawn by fpdf2 with a CJK font shipped in the package, so it needs
no browser and no system font, and Chinese names print as characters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fpdf import FPDF

from screener.reports.check_record import HASH_FIELD, record_json
from screener.reports.html_report import WEB_ADDRESS
from screener.reports.xlsx_report import TIER_CELL_COLOURS

FONT_FILE = Path(__file__).resolve().parent.parent / "fonts" / "NotoSansCJKsc-Regular-subset.ttf"
FONT = "NotoSansCJK"
ATTACHMENT = "check-record.json"
LINE = 5.0  # mm
BODY, SMALL, HEADING, TITLE = 10, 8.5, 12.5, 16  # pt
GREY, INK, LINK_BLUE = (68, 68, 68), (26, 26, 26), (6, 69, 173)
HASH_NOTE = (
    "SHA-256 of the JSON record without this field (keys sorted, UTF-8, no spaces). The JSON export of the same "
    f"check carries the same hash, and this PDF carries that JSON as the attachment {ATTACHMENT}: recompute the "
    "hash to show the record was not altered."
)


def record_pdf(record: dict[str, Any]) -> bytes:
    """The record as an A4 PDF, with its JSON export attached."""
    pdf = RecordPdf(record)
    pdf.draw()
    pdf.embed_file(bytes=record_json(record).encode("utf-8"), basename=ATTACHMENT, mime_type="application/json",
                   desc="The JSON record of this check; its content_sha256 is the hash printed here.",
                   modification_date=pdf.creation_date)
    return bytes(pdf.output())


class RecordPdf(FPDF):
    """One entity check record laid out on A4 pages, numbered in the footer."""

    def __init__(self, record: dict[str, Any]):
        super().__init__(format="A4")
        self.record = record
        self.set_margins(16, 16)
        self.set_auto_page_break(True, margin=16)
        self.add_font(FONT, fname=FONT_FILE)
        self.set_title(f"Entity check: {record['query']['name']}")
        self.set_subject(f"{HASH_FIELD} {record[HASH_FIELD]}")
        self.set_creator(f"screener {record.get('tool_version')}")
        self.set_lang("en")
        self.set_creation_date(checked_at(record))

    def footer(self) -> None:
        self.set_y(-11)
        self.style(SMALL, GREY)
        self.cell(0, 4, f"{HASH_FIELD} {self.record[HASH_FIELD]} · page {self.page_no()}/{{nb}}", align="C")

    def draw(self) -> None:
        record, verdict = self.record, self.record["verdict"]
        self.add_page()
        self.style(TITLE)
        self.cell(0, 9, "Entity check record", new_x="LMARGIN", new_y="NEXT")
        self.small(f"Checked at {record['checked_at']} · screener {record['tool_version']} · "
                   f"rules version {record['rules_version']}")
        self.heading("Searched for")
        query = record["query"]
        self.facts([("name", query["name"]), ("country", query["country"] or "(not given)"),
                    ("address", query["address"] or "(not given)")])
        self.heading("Result")
        self.tier_badge(verdict["risk_tier"], verdict["risk_score"])
        if verdict["match_name"]:
            self.flowing(f"Headline match: {verdict['match_name']} on the {verdict['match_list']} "
                         f"({verdict['match_entity_id']}).")
        elif not record["candidates"]:
            self.flowing(f"No listed name reached the review threshold ({record['thresholds']['review']}) "
                         "on any list searched.")
        for reason in verdict["reasons"] or ["No rule fired."]:
            self.bullet(reason)
        if record["candidates"]:
            self.heading(f"Candidates ({len(record['candidates'])})")
            for candidate in record["candidates"]:
                self.candidate(candidate)
        self.heading("Lists searched")
        basis = f"the listings in force on {record['lists_as_of']}" if record["lists_as_of"] else \
            "the latest snapshot of each list"
        thresholds = record["thresholds"]
        self.small(f"Lists: {basis}. Match threshold {thresholds['match']}, review threshold "
                   f"{thresholds['review']} (name similarity, 0-100).")
        for snapshot in record["lists_searched"]:
            self.snapshot(snapshot)
        self.heading("Content hash")
        self.flowing(f"{HASH_FIELD}: {record[HASH_FIELD]}")
        self.small(HASH_NOTE)

    def style(self, size: float, colour: tuple[int, int, int] = INK) -> None:
        self.set_font(FONT, size=size)
        self.set_text_color(*colour)

    def heading(self, text: str) -> None:
        self.ln(3)
        self.style(HEADING)
        self.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(187, 187, 187)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1.5)

    def small(self, text: str) -> None:
        self.flowing(text, SMALL, GREY)

    def flowing(self, text: str, size: float = BODY, colour: tuple[int, int, int] = INK) -> None:
        """A paragraph whose web addresses are links."""
        self.style(size, colour)
        height = LINE * size / BODY
        for index, piece in enumerate(WEB_ADDRESS.split(text)):
            if index % 2:
                self.set_text_color(*LINK_BLUE)
                self.write(height, piece, link=piece)
                self.set_text_color(*colour)
            elif piece:
                self.write(height, piece)
        self.ln(height + 0.8)

    def bullet(self, text: str, size: float = BODY, colour: tuple[int, int, int] = INK) -> None:
        margin = self.l_margin
        self.style(size, colour)
        self.cell(5, LINE * size / BODY, "•")
        self.set_left_margin(margin + 5)
        self.flowing(text, size, colour)
        self.set_left_margin(margin)

    def facts(self, rows: list[tuple[str, str]]) -> None:
        """Label and value pairs as a two-column table."""
        self.style(BODY)
        with self.table(col_widths=(28, 72), first_row_as_headings=False, line_height=LINE + 1,
                        borders_layout="HORIZONTAL_LINES") as table:
            for label, value in rows:
                table.row([label, value])
        self.ln(1)

    def tier_badge(self, tier: str, score: float) -> None:
        colours = TIER_CELL_COLOURS[tier]
        self.set_fill_color(*rgb(str(colours["bg_color"])))
        self.style(HEADING, rgb(str(colours["font_color"])))
        text = f"{tier.upper()} · risk score {score}"
        self.cell(self.get_string_width(text) + 8, 9, text, fill=True, align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def candidate(self, candidate: dict[str, Any]) -> None:
        self.flowing(f"{candidate['score']:.1f} · {candidate['band']} · {candidate['entity_name']}")
        self.bullet(f"matched {candidate['name_kind']} '{candidate['matched_name']}'", SMALL, GREY)
        self.bullet(f"{candidate['list']}; {candidate['program'] or 'no section given'}", SMALL, GREY)
        listed = "; ".join(str(part) for part in (candidate.get("listed_on"), candidate.get("status"),
                                                  candidate.get("citation")) if part)
        if listed:
            self.bullet(listed, SMALL, GREY)
        for url in urls(candidate.get("source_url")):
            self.bullet(url, SMALL, GREY)
        self.ln(1)

    def snapshot(self, snapshot: dict[str, Any]) -> None:
        self.flowing(snapshot["title"] or snapshot["source"])
        age = f", {snapshot['age_days']} days old at the check" if snapshot.get("age_days") is not None else ""
        self.bullet(f"snapshot #{snapshot['snapshot_id']} ({snapshot['origin']}), as of "
                    f"{snapshot['as_of'] or 'unknown'}{age}", SMALL, GREY)
        self.bullet(f"snapshot sha256 {snapshot['sha256']}", SMALL, GREY)
        for url in urls(snapshot.get("url")):
            self.bullet(url, SMALL, GREY)
        self.ln(1)


def urls(text: str | None) -> list[str]:
    return WEB_ADDRESS.findall(text or "")


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[start:start + 2], 16) for start in (1, 3, 5))  # type: ignore[return-value]


def checked_at(record: dict[str, Any]) -> dt.datetime:
    """The time of the check, which the PDF also gives as its creation date."""
    return dt.datetime.fromisoformat(record["checked_at"])
