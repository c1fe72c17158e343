"""ASGI entry point for uvicorn (`app.asgi:app`), one per server process."""

from app.logs import configure
from app.settings import Settings

_settings = Settings.from_env()
configure(_settings.log_level)

from app.factory import create_app  # noqa: E402  (logging first, then the app)

app = create_app(_settings)
