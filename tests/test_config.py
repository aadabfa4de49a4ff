"""Settings come from the environment; production refuses to start without its secrets."""

import os
import subprocess
import sys

import pytest

PRODUCTION = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": "a-real-secret-from-the-environment",
    "DATABASE_URL": "postgresql://portal@db.internal/portal",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "MAIL_SERVER": "smtp.internal",
    "AGENCY_IBAN": "NL91ABNA0417164300",
}
SHOW = (
    "from portal import create_app; app = create_app(); "
    "print(app.config['SECRET_KEY'], app.config['SQLALCHEMY_DATABASE_URI'], "
    "app.config['SESSION_COOKIE_SECURE'])"
)


def run_app(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    return subprocess.run([sys.executable, "-c", SHOW], env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "MAIL_SERVER", "AGENCY_IBAN"]
)
def test_production_refuses_to_start_without_a_secret(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = run_app(env)
    assert result.returncode != 0
    assert f"Production needs these environment variables: {missing}" in result.stderr


def test_production_takes_everything_from_the_environment():
    result = run_app(PRODUCTION)
    assert result.returncode == 0, result.stderr
    # A plain postgresql:// URL is given the installed psycopg 3 driver.
    assert result.stdout.split() == [
        "a-real-secret-from-the-environment",
        "postgresql+psycopg://portal@db.internal/portal",
        "True",
    ]


def test_development_runs_on_embedded_defaults(tmp_path):
    result = run_app({"PORTAL_ENV": "development", "PORTAL_INSTANCE_PATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    secret, database, secure = result.stdout.split()
    assert database == f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    assert secure == "False"


@pytest.mark.parametrize(
    ("redis_url", "storage"),
    [
        (None, "memory://"),
        ("redis://cache.internal:6379/0", "redis://cache.internal:6379/0"),
        ("unix:///tmp/portal/redis.socket", "redis+unix:///tmp/portal/redis.socket"),
    ],
)
def test_the_rate_limiter_counts_in_the_queues_redis(redis_url, storage):
    from portal.config import limiter_storage

    assert limiter_storage(redis_url) == storage


def test_a_worker_on_the_embedded_redis_socket_starts(tmp_path):
    """`flask up` hands its children a unix-socket REDIS_URL; their app must accept it."""
    result = run_app({"PORTAL_INSTANCE_PATH": str(tmp_path),
                      "REDIS_URL": f"unix://{tmp_path / 'redis.socket'}"})
    assert result.returncode == 0, result.stderr
