"""A smaller copy of Noto Sans CJK SC for documents, built once per machine.

Noto Sans CJK SC has 65,535 glyphs, and WeasyPrint subsets embedded fonts keeping
glyph ids, so every PDF carried an index of ~40,000 empty glyph slots (165 KiB a
notice) and paid for subsetting the whole font (35 ms a notice). This module cuts the
font to the GB 2312 repertoire (6,763 hanzi plus symbols, ~7,800 glyphs: every
character of the templates and nearly every name) and the documents name it first,
with the full system font after it, so a rarer character (喆, 堃, …) still renders
from the full font. Measured: notices of 65 KiB, subsetting 11 ms.

The copy is made with fontTools from the font fontconfig finds (the one
scripts/setup-system.sh installs), without timestamps, so every machine builds the
same bytes; it is kept in ~/.cache/dongguan-skills/fonts/ (else DATA_DIR/fonts/), built
under a file lock and renamed into place. Anything failing here leaves the
documents on the full system font.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import subprocess
import threading
from pathlib import Path

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
    for record in font["name"].names:  # its own family: never shadows the system font
        if record.nameID in (1, 3, 4, 6, 16):
            text = record.toUnicode()
            text = text.replace(FAMILY, SUBSET_FAMILY).replace("NotoSansCJKsc", "DGNotoSansCJKscGB")
            record.string = text
    partial = target.with_name(f".incoming-{os.getpid()}-{target.name}")
    font.save(str(partial))
    os.replace(partial, target)


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
            key = hashlib.sha256(f"{source}:{index}:{stat.st_size}:v1".encode()).hexdigest()[:16]
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
