"""An uploaded file's name as stored, shown or used: stored as the sender sent it but
for NUL, which PostgreSQL cannot store; shown (API answers, documents,
Content-Disposition) and used only without control characters and bidirectional
formatting characters, which could hide or reorder what a reader sees
("invoice\u202egpj.exe" reads as "invoiceexe.jpg")."""

from __future__ import annotations

import re

# C0, DEL, C1; the bidi marks, embeddings, overrides and isolates; the Arabic letter mark.
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")


def stored(name: str | None) -> str:
    return (name or "").replace("\x00", "")


def shown(name: str | None) -> str:
    return _HIDDEN.sub("", name or "")
