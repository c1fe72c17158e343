"""The security headers of this app (kernel.security_headers) and the client address
behind trusted proxies (kernel.client_address), wrapped around the ASGI app."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from litestar.openapi import OpenAPIConfig

from app.public_pages import style_sources
from app.settings import Settings
from kernel.client_address import TrustedProxyMiddleware
from kernel.security_headers import (
    SecurityHeadersMiddleware,
    content_security_policy,
    policy_with_inline_hashes,
)

_HREF = re.compile(r"""href=["']([^"']+)""")


def _origin(url: str) -> list[str]:
    parts = urlsplit(url)
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme in ("http", "https") else []


def _docs_policy(config: OpenAPIConfig) -> Any:
    """The docs page (Swagger UI) carries an inline script holding the schema, hashed
    as sent, and loads its assets from wherever the render plugins point."""
    scripts, styles, images = [], [], []
    for plugin in config.render_plugins:
        for attribute in ("js_url", "standalone_preset_js_url"):
            scripts += _origin(getattr(plugin, attribute, "") or "")
        styles += _origin(getattr(plugin, "css_url", "") or "")
        favicon = _HREF.search(getattr(plugin, "favicon", "") or "")
        images += _origin(favicon.group(1)) if favicon else []
    return policy_with_inline_hashes(scripts, styles, images)


def secured(handler: Any, settings: Settings, openapi: OpenAPIConfig | None) -> Any:
    """Headers outside, so they are on every answer; the client address inside, so
    every reader of `request.client` sees the one behind the trusted proxies."""
    page_policies = [(openapi.path, _docs_policy(openapi))] if openapi else []
    return SecurityHeadersMiddleware(
        TrustedProxyMiddleware(handler, settings.trusted_proxies),
        html_policy=content_security_policy(style_sources=style_sources()),
        hsts=settings.public_base_url.startswith("https://"),
        page_policies=page_policies,
    )
