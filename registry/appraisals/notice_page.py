"""The public notice as a page (what a person without an API client sees), with a form
per entry to lodge an objection: the same data and rules as /api/v1/notices."""

from __future__ import annotations

from typing import Any

from app.public_pages import render
from kernel.errors import FieldError

ROUTES = {"recognition": "竞赛获奖认定 Recognition", "evaluation": "评价认定 Evaluation"}
MEDALS = {"gold": "世界技能大赛金牌 gold", "silver": "银牌 silver", "bronze": "铜牌 bronze"}
LABELS = {
    "application_id": "申报 Application",
    "contact_name": "姓名 Name",
    "contact": "联系方式 Contact",
    "reason": "理由 Reason",
}


def page(
    current: dict[str, Any],
    *,
    receipt: dict[str, Any] | None = None,
    errors: list[FieldError] | None = None,
    chosen: int | None = None,
) -> str:
    """`current`: notices.current(); `receipt`: an objection just lodged; `errors`:
    why one was not; `chosen`: the entry whose form stays open."""
    return render(
        "notice_page.html",
        today=current["today"],
        entries=current["entries"],
        receipt=receipt,
        errors=errors or [],
        chosen=chosen,
        routes=ROUTES,
        medals=MEDALS,
        labels=LABELS,
    )
