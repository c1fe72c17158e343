"""Reading an XLSX file's cells as Excel stores them (openpyxl is not a dependency):
each cell's value (a number as float, a string as str) and its number format code."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
_BUILT_IN_FORMATS = {0: "General", 1: "0", 2: "0.00"}


def cells(path: Path, sheet: int = 1) -> dict[str, tuple[object, str]]:
    """Cell reference ("F2") -> (value, number format code)."""
    with zipfile.ZipFile(path) as book:
        shared = [
            "".join(t.text or "" for t in si.iter(f"{{{_NS['m']}}}t"))
            for si in _xml(book, "xl/sharedStrings.xml").findall("m:si", _NS)
        ] if "xl/sharedStrings.xml" in book.namelist() else []  # fmt: skip
        styles = _xml(book, "xl/styles.xml")
        custom = {
            int(f.get("numFmtId")): f.get("formatCode")
            for f in styles.findall("m:numFmts/m:numFmt", _NS)
        }
        formats = [
            {**_BUILT_IN_FORMATS, **custom}.get(int(xf.get("numFmtId", 0)), "?")
            for xf in styles.findall("m:cellXfs/m:xf", _NS)
        ]
        found = {}
        for c in _xml(book, f"xl/worksheets/sheet{sheet}.xml").iter(f"{{{_NS['m']}}}c"):
            v = c.find("m:v", _NS)
            if c.get("t") == "inlineStr":
                value: object = "".join(t.text or "" for t in c.iter(f"{{{_NS['m']}}}t"))
            elif v is None:
                continue
            elif c.get("t") == "s":
                value = shared[int(v.text or 0)]
            elif c.get("t") in ("str", "b"):
                value = v.text
            else:
                value = float(v.text or 0)
            found[c.get("r")] = (value, formats[int(c.get("s", 0))])
        return found


def column_of(ref: str) -> str:
    return re.sub(r"\d", "", ref)


def _xml(book: zipfile.ZipFile, name: str) -> ElementTree.Element:
    return ElementTree.fromstring(book.read(name))
