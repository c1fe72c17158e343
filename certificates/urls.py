"""The URL a document's QR code holds."""

from __future__ import annotations

from app.settings import Settings


def verify_base_url(settings: Settings) -> str:
    """The service's public address: PUBLIC_BASE_URL, or else the address the API
    listens on (HOST:PORT), which is right only for one machine."""
    if settings.public_base_url:
        return settings.public_base_url
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"


def verify_url(base: str, code: str) -> str:
    return f"{base}/verify/{code}"
