"""Security headers on every response, as a raw ASGI middleware so that errors, 404s
of unknown paths and generated pages (the OpenAPI docs) get them too.

Every response: nosniff, no referrer, no framing. HTML: a Content-Security-Policy that
allows only the service's own scripts and styles (plus hashes of known inline
blocks). HSTS when the public address is https. `Cache-Control: no-store` on every
response that sets no Cache-Control itself, except under the cacheable prefixes
(static assets, the docs, the health check): personal data and documents are never
kept by a browser or a shared cache, including routes added later.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

EVERY_RESPONSE = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
NOT_FRAMED = "frame-ancestors 'none'"
CACHEABLE = ("/static/", "/schema", "/api/v1/health")

_INLINE = re.compile(rb"<(script|style)\b([^>]*)>(.*?)</\1\s*>", re.DOTALL | re.IGNORECASE)


def source_hash(text: str | bytes) -> str:
    """A CSP source allowing one inline <script> or <style> block with this content."""
    data = text.encode() if isinstance(text, str) else text
    return f"'sha256-{base64.b64encode(hashlib.sha256(data).digest()).decode()}'"


def inline_hashes(html: str | bytes, tag: str) -> list[str]:
    """CSP sources for each inline <script> (without src) or <style> block of a page."""
    data = html.encode() if isinstance(html, str) else html
    return [
        source_hash(content)
        for found, attributes, content in _INLINE.findall(data)
        if found.lower() == tag.encode() and b"src=" not in attributes.lower()
    ]


def content_security_policy(
    script_sources: Iterable[str] = (),
    style_sources: Iterable[str] = (),
    img_sources: Iterable[str] = (),
) -> str:
    """The policy of HTML pages; pages with inline blocks or other origins extend it."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_sources],
        "style-src": ["'self'", *style_sources],
        "img-src": ["'self'", "data:", *img_sources],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(dict.fromkeys(v))}" for name, v in directives.items())


def policy_with_inline_hashes(
    script_sources: Iterable[str] = (),
    style_sources: Iterable[str] = (),
    img_sources: Iterable[str] = (),
) -> Callable[[bytes], str]:
    """For a page generated wholly by the service (no user input in its inline blocks):
    the policy allows exactly the inline blocks the page holds."""
    scripts, styles, images = list(script_sources), list(style_sources), list(img_sources)

    def policy(body: bytes) -> str:
        return content_security_policy(
            [*scripts, *inline_hashes(body, "script")],
            [*styles, *inline_hashes(body, "style")],
            images,
        )

    return policy


class SecurityHeadersMiddleware:
    """`html_policy`: the CSP of HTML pages; `page_policies`: (path prefix, policy of
    the page's body) for generated pages whose inline blocks are hashed as sent."""

    def __init__(
        self,
        app: Any,
        *,
        html_policy: str,
        hsts: bool = False,
        page_policies: Sequence[tuple[str, Callable[[bytes], str]]] = (),
        cacheable: Sequence[str] = CACHEABLE,
    ) -> None:
        self.app = app
        self.html_policy = html_policy.encode()
        self.always = [*EVERY_RESPONSE, *([HSTS] if hsts else [])]
        self.page_policies = tuple(page_policies)
        self.cacheable = tuple(cacheable)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        page_policy = next((p for prefix, p in self.page_policies if path.startswith(prefix)), None)
        cacheable = path.startswith(self.cacheable)
        held: dict[str, Any] | None = None
        body: list[bytes] = []

        async def send_with_headers(message: Any) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                html = any(
                    n.lower() == b"content-type" and v.lower().startswith(b"text/html")
                    for n, v in headers
                )
                headers += [h for h in self.always if h[0] not in names]
                if not cacheable and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
                if html and page_policy is not None:
                    held = message  # the policy depends on the body: wait for all of it
                    return
                csp = self.html_policy if html else NOT_FRAMED.encode()
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", csp))
            elif message["type"] == "http.response.body" and held is not None:
                body.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                content = b"".join(body)
                csp = page_policy(content).encode()  # type: ignore[misc]
                start = {**held, "headers": [*held["headers"], (b"content-security-policy", csp)]}
                held = None
                await send(start)
                message = {**message, "body": content}
            await send(message)

        await self.app(scope, receive, send_with_headers)
