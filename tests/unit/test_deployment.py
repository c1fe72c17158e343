"""docker-compose.yml and README agree with the settings the code reads.
(No Docker engine runs here, so the file is checked, not started.)"""

import re
from pathlib import Path

import yaml

from app.settings import ENVIRONMENT, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


PACKAGES = (
    "app",
    "kernel",
    "accounts",
    "audit",
    "registry",
    "subsidies",
    "certificates",
    "workers",
    "reviews",
    "calendar_days",
)


def read_variables() -> set[str]:
    """Every environment variable the service's code reads."""
    names: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            names |= set(re.findall(r'(?:env|environ)\.get\("([A-Z_]+)"', path.read_text()))
    return names


def test_every_variable_read_is_documented_in_settings_and_readme():
    assert read_variables() == set(ENVIRONMENT)
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in ENVIRONMENT if f"`{name}`" not in readme]
    assert not missing, f"README lacks {missing}"


def test_compose_has_the_scale_out_shape():
    assert {"postgres", "rabbitmq", "migrate", "api", "worker"} <= set(SERVICES)
    for name in ("postgres", "rabbitmq", "api", "worker"):
        assert "healthcheck" in SERVICES[name], name
    worker = SERVICES["worker"]
    assert "container_name" not in worker and "ports" not in worker  # so it can scale


def test_api_and_worker_share_one_database_and_broker_and_use_known_variables():
    api_env, worker_env = SERVICES["api"]["environment"], SERVICES["worker"]["environment"]
    for key in ("DATABASE_URL", "BROKER_URL", "JOB_QUEUE"):
        assert api_env[key] == worker_env[key], key
    for env in (api_env, worker_env, SERVICES["migrate"]["environment"]):
        assert set(env) <= set(ENVIRONMENT), set(env) - set(ENVIRONMENT)
        settings = Settings.from_env({k: str(v) for k, v in env.items()})
        assert settings.database_url.startswith("postgresql://")
        assert settings.broker_url.startswith("amqp://") and not settings.embedded_broker
    pg = SERVICES["postgres"]["environment"]
    assert (
        f"{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}"
        in (api_env["DATABASE_URL"])
    )


def test_compose_commands_name_real_entry_points():
    from app.cli import cli

    assert SERVICES["api"]["command"][:3] == ["python", "-m", "app"]
    assert SERVICES["api"]["command"][3] in cli.commands
    assert SERVICES["migrate"]["command"][3] in cli.commands
    assert SERVICES["worker"]["command"][:3] == ["python", "-m", "app"]
    assert SERVICES["worker"]["command"][3] in cli.commands
    assert (ROOT / "workers" / "actors.py").exists()
    assert SERVICES["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def _duration_seconds(text: str) -> float:
    """A Compose duration such as 90s or 1m30s."""
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", str(text))
    assert parts and any(parts.groups()), text
    minutes, seconds = (int(g or 0) for g in parts.groups())
    return minutes * 60 + seconds


def test_docker_waits_for_a_stopping_worker_to_hand_its_jobs_back():
    """Docker SIGKILLs a container stop_grace_period after SIGTERM (10 s by default): a
    job killed so counts a death. The worker must have stopped by then."""
    from workers.supervisor import shutdown_seconds

    worker = SERVICES["worker"]
    settings = Settings.from_env({k: str(v) for k, v in worker["environment"].items()})
    assert "stop_grace_period" in worker
    needed = shutdown_seconds(settings.job_stop_grace_seconds)
    assert _duration_seconds(worker["stop_grace_period"]) > needed
