"""The URL a document's QR code holds."""

from __future__ import annotations

from app.settings import Settings


def verify_base_url(settings: Settings) -> str:
    """The service's public address. Until a PUBLIC_BASE_URL setting exists, it is the
    address the API listens on (HOST:PORT): right for one machine, to be replaced by
    the public name behind a proxy."""
    public = getattr(settings, "public_base_url", None)
    if public:
        return str(public).rstrip("/")
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"


def verify_url(base: str, code: str) -> str:
    return f"{base}/verify/{code}"
