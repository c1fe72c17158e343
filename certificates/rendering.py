"""HTML to PDF: Jinja templates (package data) rendered by WeasyPrint.

- One FontConfiguration per process, created on first use: WeasyPrint caches fonts in
  it, and a new one per document makes a worker grow without bound (the issue measured
  580 MB against 175 MB).
- Fonts are subset (WeasyPrint's default; never `full_fonts`): a notice embeds only the
  glyphs it uses of Noto Sans CJK SC, installed by scripts/setup-system.sh.
- Many notices are laid out as ONE HTML document (parsing, style cascade and font
  loading paid once) and the pages split into one PDF per notice. A split PDF embeds
  only its own pages' glyphs, so a notice is byte for byte the same whether it was
  rendered alone or inside a chunk (a test holds it to that).
- One rendering at a time per process (`_layout_lock`): Pango, fontconfig and the
  shared font configuration are not thread-safe, and two worker threads rendering at
  once corrupted GLib's lists ("corrupted double-linked list", thousands of times in
  a 10,000-notice run). The GIL kept the two threads from running in parallel anyway;
  worker processes are what scale rendering.
- Deterministic output: no PDF identifier, and the creation date is the document's
  issue date from the data, so the same data gives the same bytes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import date
from itertools import groupby
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration

from certificates import fonts, models, pages
from certificates.capitals import capital_amount, figures
from certificates.qr import qr_png_data_uri
from kernel.labels import LEVEL, SCHEME, label
from kernel.local_time import cn_date

_font_config: FontConfiguration | None = None
_font_lock = threading.Lock()
_layout_lock = threading.Lock()


def font_config() -> FontConfiguration:
    """The process's one font configuration (lazily made; threads share it)."""
    global _font_config
    if _font_config is None:
        with _font_lock:
            if _font_config is None:
                _font_config = FontConfiguration()
    return _font_config


def period(start: date | None, end: date | None) -> str:
    if start and end:
        return f"{start.isoformat()} 至 {end.isoformat()}"
    if start or end:
        return (start or end).isoformat()  # type: ignore[union-attr]
    return "—"


_env = Environment(
    loader=PackageLoader("certificates", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals.update(
    capital=capital_amount,
    figures=figures,
    qr=qr_png_data_uri,
    cn_date=cn_date,
    period=period,
    month=lambda day: f"{day.year}年{day.month}月",
    level_names=LEVEL,
    scheme_name=lambda code: label(SCHEME, code),
    authority=models.ISSUING_AUTHORITY,
)


def html_of(template: str, **context: Any) -> str:
    return _env.get_template(template).render(document_font=_font_url(), **context)


def _font_url() -> str | None:
    from app.settings import Settings

    path = fonts.document_font(Settings.from_env().data_dir)
    return path.resolve().as_uri() if path else None


def _pdf(html: str) -> bytes:
    with _layout_lock:
        return HTML(string=html).write_pdf(font_config=font_config())


def render_notices(notices: Sequence[models.NoticeData]) -> list[bytes]:
    """One PDF per notice, in order. Notices issued on the same day are laid out
    together and split by page."""
    out: list[bytes] = []
    for issued_on, group in groupby(notices, key=lambda n: n.issued_on):
        out.extend(_render_same_day(list(group), issued_on))
    return out


def _render_same_day(notices: list[models.NoticeData], issued_on: date) -> list[bytes]:
    html = html_of(
        "notices.html",
        title="补贴发放通知书 Subsidy disbursement notice",
        created=issued_on.isoformat(),
        notices=notices,
    )
    with _layout_lock:
        document = HTML(string=html).render(font_config=font_config())
        starts = [number for number, page in enumerate(document.pages) if _starts_notice(page)]
        if len(starts) != len(notices):
            raise RuntimeError(f"laid out {len(starts)} notices where {len(notices)} were given")
        ends = [*starts[1:], len(document.pages)]
        return [
            document.copy(document.pages[a:b]).write_pdf()
            for a, b in zip(starts, ends, strict=True)
        ]


def _starts_notice(page: Any) -> bool:
    """Whether a notice's first line (marked `data-notice-start`, a one-line block that
    never splits) is on this page. Found in the layout tree rather than by an HTML id,
    because ids become named destinations in the PDF and would make a notice's bytes
    depend on its place in the chunk."""
    return any(
        getattr(box, "element", None) is not None and "data-notice-start" in box.element.attrib
        for box in page._page_box.descendants()
    )


def render_notice(notice: models.NoticeData) -> bytes:
    return render_notices([notice])[0]


def _simple(template: str, title: str) -> Callable[[Any], bytes]:
    def render(data: Any) -> bytes:
        return _pdf(html_of(template, title=title, created=data.issued_on.isoformat(), d=data))

    render.__name__ = f"render_{template.removesuffix('.html')}"
    return render


render_award_certificate = _simple("award.html", "技能领军人才证书 Leading-talent certificate")
render_studio_certificate = _simple("studio.html", "技能大师工作室证书 Master studio certificate")
render_voucher = _simple("voucher.html", "技能培训券 Training voucher")


def render_summary(data: models.SummaryData) -> bytes:
    """The batch summary as one PDF: pages of fixed row count with subtotals and the
    running total, the grand total in figures and capitals, signature blocks, page x of
    y (CSS page counters)."""
    total = sum(line.amount_fen for line in data.lines)
    html = html_of(
        "summary.html",
        title="补贴发放批次汇总表 Disbursement batch summary",
        created=data.issued_on.isoformat(),
        d=data,
        pages=pages.paginate(data.lines),
        count=len(data.lines),
        total_fen=total,
        header=pages.listing_header(),
        row=_summary_row,
        sub_row=_subtotal_row,
    )
    return _pdf(html)


def _summary_row(line: models.SummaryLine) -> str:
    return pages.listing_row(pages.summary_cells(line))


def _subtotal_row(label: str, fen: int) -> str:
    width = sum(w for _, w, _ in pages.COLUMNS) + len(pages.COLUMNS) - 1
    amount = figures(fen)
    return pages.fit(label, width - len(amount) - 1) + " " + amount
