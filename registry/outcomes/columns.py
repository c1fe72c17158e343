"""The columns of an outcome report, with the Chinese and English header names a
spreadsheet may use (both are accepted; the template carries both)."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.errors import InvalidInput


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    required: bool
    hint: str  # shown in the template's second sheet


COLUMNS: tuple[Column, ...] = (
    Column("id_number", "身份证号", "ID number", True, "18 characters, GB 11643; store as text"),
    Column("name", "姓名", "Name", True, "as on the ID card"),
    Column("course", "课程名称", "Course", True, "up to 100 characters"),
    Column("occupation_code", "职业编码", "Occupation code", True, "e.g. 6-18-01-01"),
    Column("occupation_name", "职业名称", "Occupation", True, "up to 60 characters"),
    Column("hours", "培训课时", "Hours", True, "whole hours, 1-2000"),
    Column("start_date", "开始日期", "Start date", True, "YYYY-MM-DD"),
    Column("end_date", "结束日期", "End date", True, "YYYY-MM-DD, not before the start"),
    Column("passed", "是否合格", "Passed", True, "是/否, yes/no, 合格/不合格, 1/0"),
    Column("certificate_number", "证书编号", "Certificate number", False, "if obtained"),
    Column("certificate_level", "证书等级", "Certificate level", False, "1-5 or 高级工 etc."),
    Column("certificate_date", "发证日期", "Certificate date", False, "YYYY-MM-DD"),
    Column(
        "certificate_issuer_code",
        "发证机构统一社会信用代码",
        "Certificate issuer credit code",
        False,
        "blank: the reporting institution issued it",
    ),
)

KEYS = tuple(c.key for c in COLUMNS)
BY_KEY = {c.key: c for c in COLUMNS}
CERTIFICATE_KEYS = ("certificate_number", "certificate_level", "certificate_date")


def header_aliases(columns: tuple[Column, ...]) -> dict[str, str]:
    """Every header name a column may be given under (lower case) -> its key."""
    aliases: dict[str, str] = {}
    for c in columns:
        for name in (c.key, c.zh, c.en, f"{c.zh}/{c.en}", f"{c.zh} {c.en}"):
            aliases[name.strip().lower()] = c.key
    return aliases


_ALIASES = header_aliases(COLUMNS)


def header_key(header: object, aliases: dict[str, str] | None = None) -> str | None:
    text = str(header).replace("\ufeff", "").strip().lower()
    return (_ALIASES if aliases is None else aliases).get(text)


def map_headers(headers: list[object], columns: tuple[Column, ...] = COLUMNS) -> dict[int, str]:
    """Position -> column key. Unknown extra columns are ignored; a missing required
    column or a column given twice is one clear error naming them. `columns`: another
    file's columns (e.g. internship month reports) read the same way."""
    aliases = _ALIASES if columns is COLUMNS else header_aliases(columns)
    by_key = {c.key: c for c in columns}
    found: dict[int, str] = {}
    seen: dict[str, int] = {}
    duplicates = []
    for position, header in enumerate(headers):
        key = header_key(header, aliases)
        if key is None:
            continue
        if key in seen:
            duplicates.append(by_key[key].zh + "/" + by_key[key].en)
            continue
        seen[key] = position
        found[position] = key
    missing = [f"{c.zh}/{c.en}" for c in columns if c.required and c.key not in seen]
    problems = []
    if missing:
        problems.append(f"missing columns 缺少列: {', '.join(missing)}")
    if duplicates:
        problems.append(f"columns given twice 重复列: {', '.join(duplicates)}")
    if problems:
        raise InvalidInput.single("file", "; ".join(problems))
    return found


def template_headers() -> list[str]:
    """The template's header row: Chinese and English in one cell, both accepted."""
    return [f"{c.zh}/{c.en}" for c in COLUMNS]
