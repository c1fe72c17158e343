"""Small bilingual HTML pages for the public (the verify page a QR code opens, the
leading-talent public notice): one Jinja environment over the packages' templates, all
extending app/templates/public_base.html, and the rule for who gets a page instead of
JSON."""

from __future__ import annotations

from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape
from litestar import MediaType, Request, Response

from kernel.security_headers import inline_hashes

_env = Environment(
    loader=ChoiceLoader(
        [
            PackageLoader("app", "templates"),
            PackageLoader("certificates", "templates"),
            PackageLoader("registry.appraisals", "templates"),
        ]
    ),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)


def style_sources() -> list[str]:
    """CSP sources for the inline stylesheet every public page inherits."""
    source, _, _ = _env.loader.get_source(_env, "public_base.html")  # type: ignore[union-attr]
    return inline_hashes(source, "style")


def render(template: str, **context: Any) -> str:
    return _env.get_template(template).render(**context)


def wants_html(request: Request[Any, Any, Any]) -> bool:
    """A browser gets the page; API clients, and anyone not asking, get JSON, as does a
    header Litestar cannot rank (q=inf raises OverflowError inside it)."""
    try:
        best = request.accept.best_match([MediaType.JSON, MediaType.HTML], MediaType.JSON)
    except (ValueError, OverflowError):
        return False
    return best == MediaType.HTML


def html(content: str, status_code: int = 200) -> Response[str]:
    return Response(
        content,
        media_type=MediaType.HTML,
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )
