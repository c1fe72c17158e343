"""Health probes (public): liveness, readiness, and the summary at /api/v1/health."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from litestar import Request, Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from app.auth import PUBLIC_OPT
from app.settings import Settings
from calendar_days.service import current_warnings
from kernel import readiness
from kernel.db import engine

log = logging.getLogger(__name__)


@get("/api/v1/health", opt={PUBLIC_OPT: True}, tags=["health"])
async def health() -> dict[str, Any]:
    """Tells anyone that the service is up (no login), with the database and broker it uses."""
    from workers.broker import settings as broker_settings

    return {
        "status": "ok",
        "database": engine().engine_type,
        "broker": "embedded"
        if broker_settings.embedded_broker
        else broker_settings.broker_url.split(":", 1)[0],
    }


@get("/api/v1/health/live", opt={PUBLIC_OPT: True}, tags=["health"])
async def live() -> dict[str, str]:
    """Tells a supervisor that the process answers, reaching nothing else (liveness).

    A database outage must not get every API process restarted."""
    return {"status": "ok"}


@get("/api/v1/health/ready", opt={PUBLIC_OPT: True}, tags=["health"])
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Checks that the database and the broker answer (readiness), or 503 naming what is down.

    200 when the database answers SELECT 1 and the broker accepts a connection; on 503
    take the process out of the load balancer. `warnings` name what needs doing without
    stopping the service (from 1 November: next year's holiday schedule not entered)."""
    settings: Settings = request.app.state.settings
    report = await readiness.run_checks(
        {"database": readiness.database, "broker": readiness.broker_check(settings.broker_url)}
    )
    ok = not report["down"]
    report["warnings"] = [] if "database" in report["down"] else await _warnings()
    if not ok:
        down = report["down"]
        report["message"] = f"not ready: {', '.join(down)} down 服务未就绪：{'、'.join(down)}不可用"
    return Response(report, status_code=HTTP_200_OK if ok else HTTP_503_SERVICE_UNAVAILABLE)


async def _warnings() -> list[str]:
    """Within the checks' time limit; a warning that cannot be computed is left out, never a
    failure of the probe."""
    try:
        async with asyncio.timeout(readiness.CHECK_SECONDS):
            return await current_warnings()
    except Exception:  # the probe answers on what it knows; the cause goes to the log
        log.exception("readiness warnings could not be computed")
        return []
