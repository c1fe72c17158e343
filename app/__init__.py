"""Composition root: settings, the Litestar app factory, middleware and the CLI."""
