"""Serving the app to tests on the test's own event loop (see app/in_process.py)."""

from app.in_process import lifespan, serve

__all__ = ["lifespan", "serve"]
