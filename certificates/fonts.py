"""A smaller copy of Noto Sans CJK SC for documents, built once per machine.

Noto Sans CJK SC has 65,535 glyphs, and WeasyPrint subsets embedded fonts keeping
glyph ids, so every PDF carried an index of ~40,000 empty glyph slots (165 KiB a
notice) and paid for subsetting the whole font (35 ms a notice). This module cuts the
font to the GB 2312 repertoire (6,763 hanzi plus symbols, ~7,800 glyphs: every
character of the templates and nearly every name) and the documents name it first,
with the full system font after it, so a rarer character (喆, 堃, …) still renders
from the full font. Measured: notices of 65 KiB, subsetting 11 ms.

WeasyPrint's subset keeps glyph ids, so a PDF carries an empty slot (hmtx, vmtx,
CharStrings entry: ~14 bytes) for every glyph id below the highest it uses, and the
time to subset and compress grows with that id. The copy's glyphs are therefore
reordered: first those of the templates, amounts and common document words (then
what default shaping substitutes for them, e.g. zh-CN `locl` digits), then the GB
2312 level-1 hanzi (the 3,755 common ones: nearly all names), then the rest. The
order only affects speed and size (a character the list misses still renders); it
is deterministic, so every machine still builds the same bytes. Measured on the
sample notices: highest glyph id 13,875 -> ~4,000-5,000, PDFs 66 -> ~49 KiB, about
7 ms less CPU per notice.

The copy is made with fontTools from the font fontconfig finds (the one
scripts/setup-system.sh installs), without timestamps, so every machine builds the
same bytes; it is kept in ~/.cache/dongguan-skills/fonts/ (else DATA_DIR/fonts/), built
under a file lock and renamed into place. Anything failing here leaves the
documents on the full system font.
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import io
import logging
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FAMILY = "Noto Sans CJK SC"
SUBSET_FAMILY = "DG Noto Sans CJK SC GB2312"
_lock = threading.Lock()
_built: dict[Path, Path | None] = {}


def system_font() -> tuple[str, int] | None:
    """(file, index in the collection) of Noto Sans CJK SC, as fontconfig finds it."""
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}:%{index}:%{family}", FAMILY],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    path, index, family = out.split(":", 2)
    if FAMILY not in family:
        return None
    return path, int(index)


def repertoire() -> set[int]:
    chars = set(range(0x20, 0x7F)) | set(range(0xA0, 0x180))
    chars |= set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0))
    for cp in range(0x2000, 0x10000):
        try:
            chr(cp).encode("gb2312")
        except UnicodeEncodeError:
            continue
        chars.add(cp)
    return chars


def _build(source: str, index: int, target: Path) -> None:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(source, fontNumber=index, recalcTimestamp=False, lazy=False)
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=repertoire())
    subsetter.subset(font)
    subset_bytes = io.BytesIO()
    font.save(subset_bytes)
    try:  # on the saved subset, reloaded: every table in its plain compiled state
        font = TTFont(io.BytesIO(subset_bytes.getvalue()), recalcTimestamp=False, lazy=False)
        _reorder(font)
    except Exception:
        log.exception("could not reorder the document font's glyphs; keeping their order")
        font = TTFont(io.BytesIO(subset_bytes.getvalue()), recalcTimestamp=False, lazy=False)
    for record in font["name"].names:  # its own family: never shadows the system font
        if record.nameID in (1, 3, 4, 6, 16):
            text = record.toUnicode()
            text = text.replace(FAMILY, SUBSET_FAMILY).replace("NotoSansCJKsc", "DGNotoSansCJKscGB")
            record.string = text
    partial = target.with_name(f".incoming-{os.getpid()}-{target.name}")
    font.save(str(partial))
    os.replace(partial, target)


# What harfbuzz applies by default in horizontal text: glyphs these substitute for
# the common characters belong up front with them.
_DEFAULT_FEATURES = [
    "rvrn", "ccmp", "locl", "mark", "mkmk", "rlig", "calt", "clig", "curs", "dist",
    "kern", "liga", "rclt", "abvm", "blwm",
]  # fmt: skip
_TEMPLATES = Path(__file__).parent / "templates"
# Words on nearly every payment document that the templates do not spell out.
_COMMON_WORDS = (
    "零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整人民币¥"
    "东莞市镇街道区有限公司责任股份科技电子制造实业贸易精密工业"
    "中国工商建设农业银行邮政储蓄招商交通农村商业支行分行营业部"
    "补贴实习培训技能等级证书人才工作室大师参保符合条件上限已付个月每名"
)


def _priority_chars() -> set[int]:
    chars = set(range(0x20, 0x7F)) | set(range(0x3000, 0x3040)) | set(range(0xFF01, 0xFF5F))
    chars |= {ord(c) for c in "“”‘’—…·×"}
    chars |= {ord(c) for c in _COMMON_WORDS}
    for template in sorted(_TEMPLATES.glob("*")):
        chars |= {ord(c) for c in template.read_text(encoding="utf-8") if ord(c) >= 0x80}
    return chars


def _level_one_hanzi() -> set[int]:
    return {
        ord(bytes([row, cell]).decode("gb2312"))
        for row in range(0xB0, 0xD8)
        for cell in range(0xA1, 0xFF)
        if not (row == 0xD7 and cell > 0xF9)
    }


def _closure(font: Any, unicodes: set[int]) -> set[str]:
    """Glyph names for `unicodes` and what default shaping may substitute for them."""
    from fontTools import subset

    options = subset.Options()
    options.layout_features = _DEFAULT_FEATURES
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter._closure_glyphs(font)  # the closure only; nothing is cut
    return set(subsetter.glyphs_retained)


def _reorder(font: Any) -> None:
    """Common glyphs first (see the module docstring)."""
    from fontTools.ttLib.reorderGlyphs import reorderGlyphs

    old = font.getGlyphOrder()
    cmap = font.getBestCmap()
    priority, common = _priority_chars(), _level_one_hanzi()
    # Each set's own glyphs, then what shaping may substitute for them (mostly other
    # languages' `locl` forms, rarely used: a few, like zh-CN digits, are).
    tiers = [
        {cmap[c] for c in priority if c in cmap},
        _closure(font, priority),
        {cmap[c] for c in common if c in cmap},
        _closure(font, common),
    ]
    new, placed = [old[0]], {old[0]}
    for tier in tiers:
        new += [g for g in old if g in tier and g not in placed]
        placed.update(new)
    new += [g for g in old if g not in placed]
    # A CID-keyed CFF picks each glyph's private dict (its local subroutines) by
    # FDSelect, which reorderGlyphs leaves in the old order: load every charstring
    # (each binds its private dict as it loads), then give the top dict a new
    # FDSelect in the new order.
    top = font["CFF "].cff.topDictIndex[0]
    select = getattr(top, "FDSelect", None)
    by_name = {}
    for i, name in enumerate(old):
        top.CharStrings[name]
        if select is not None:
            by_name[name] = select[i]
    reorderGlyphs(font, new)
    if select is not None:
        reordered = copy.copy(select)
        reordered.gidArray = [by_name[g] for g in new]
        top.FDSelect = reordered


def _built_at(source: str, index: int, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".build-lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)  # one builder across processes
        if not target.exists():
            log.info("building the document font %s (once per machine, ~30 s)", target)
            _build(source, index, target)
    return target


def document_font(data_dir: Path) -> Path | None:
    """The reduced font file (built on first use), or None to use the system font."""
    with _lock:
        if data_dir in _built:
            return _built[data_dir]
        found = system_font()
        path = None
        if found is not None:
            source, index = found
            stat = os.stat(source)
            key = hashlib.sha256(f"{source}:{index}:{stat.st_size}:v3".encode()).hexdigest()[:16]
            for folder in (
                Path.home() / ".cache" / "dongguan-skills" / "fonts",
                data_dir / "fonts",
            ):
                target = folder / f"noto-sans-cjk-sc-gb2312-{key}.otf"
                try:
                    path = _built_at(source, index, target)
                    break
                except Exception:
                    log.exception("could not build the document font at %s", target)
            if path is None:
                log.warning("documents use %s whole (larger, slower PDFs)", FAMILY)
        _built[data_dir] = path
        return path
