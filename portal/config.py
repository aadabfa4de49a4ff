"""Settings, read from the environment.

Each class is a complete configuration; `create_app` picks one by `PORTAL_ENV`
(development by default). Production refuses to start without its secrets.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("PORTAL_INSTANCE_PATH", ROOT / "instance"))


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _env_bool(name: str, default: bool) -> bool:
    return (_env(name, "1" if default else "0") or "").lower() in {"1", "true", "yes", "on"}


def database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgresql:// URLs (psycopg2 is not installed)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def limiter_storage(redis_url: str | None) -> str:
    """The rate limiter's storage: the queue's Redis when there is one (limits spells a
    socket URL redis+unix://), else memory."""
    if not redis_url:
        return "memory://"
    return "redis+" + redis_url if redis_url.startswith("unix://") else redis_url


class Config:
    """Shared defaults. Every value can be overridden from the environment."""

    SECRET_KEY = _env("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = database_url(
        _env("DATABASE_URL", f"sqlite:///{INSTANCE / 'portal.sqlite3'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Unset means "start an embedded Redis" (see portal.queue); tests set their own.
    REDIS_URL = _env("REDIS_URL")
    QUEUE_NAMES = (
        "default", "dunning", "mail", "letters", "calls", "reports", "imports", "housekeeping"
    )

    MAIL_SERVER = _env("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = _env_int("MAIL_PORT", 8025)
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = _env("MAIL_USERNAME")
    MAIL_PASSWORD = _env("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = _env("MAIL_DEFAULT_SENDER", "Incasso Portal <noreply@portal.localhost>")
    # Where the embedded SMTP sink writes messages in development.
    MAIL_OUTBOX = _env("MAIL_OUTBOX", str(INSTANCE / "outbox"))

    PAYMENT_PROVIDER = _env("PAYMENT_PROVIDER", "sandbox")  # "sandbox" or "mollie"
    MOLLIE_API_KEY = _env("MOLLIE_API_KEY")  # test_... or live_...; no default on purpose
    PAYMENT_START_RATE_LIMIT = _env("PAYMENT_START_RATE_LIMIT", "10 per minute")
    # Evidence with a dispute: each file at most this size (5 files at most); a request body
    # larger than all of them together is refused before it is read (413).
    EVIDENCE_MAX_BYTES = _env_int("EVIDENCE_MAX_BYTES", 10 * 1024 * 1024)
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 5 * EVIDENCE_MAX_BYTES + 1024 * 1024)
    AGENCY_NAME = _env("AGENCY_NAME", "Incasso Noord B.V.")
    AGENCY_TIMEZONE = _env("AGENCY_TIMEZONE", "Europe/Amsterdam")
    JURISDICTION = _env("JURISDICTION", "NL")
    PUBLIC_URL = _env("PUBLIC_URL", "http://127.0.0.1:5000")
    # On every letter and email; unset values print as clearly fake placeholders
    # (portal.services.notices.AGENCY_DEFAULTS), and production refuses to start without an IBAN.
    AGENCY_ADDRESS = _env("AGENCY_ADDRESS")  # lines separated by "\n"
    AGENCY_IBAN = _env("AGENCY_IBAN")
    AGENCY_BIC = _env("AGENCY_BIC")
    AGENCY_PHONE = _env("AGENCY_PHONE")
    AGENCY_EMAIL = _env("AGENCY_EMAIL")
    AGENCY_KVK = _env("AGENCY_KVK")
    DUNNING_SENDER_NAME = _env("DUNNING_SENDER_NAME")
    DUNNING_SENDER_TITLE = _env("DUNNING_SENDER_TITLE")
    DUNNING_PAY_WITHIN_DAYS = _env_int("DUNNING_PAY_WITHIN_DAYS", 7)
    DUNNING_CHUNK_SIZE = _env_int("DUNNING_CHUNK_SIZE", 500)
    # A call task a caller claimed ("next case") and left alone returns to the queue after this.
    CALL_CLAIM_TIMEOUT_MINUTES = _env_int("CALL_CLAIM_TIMEOUT_MINUTES", 20)
    PROMISE_GRACE_DAYS = _env_int("PROMISE_GRACE_DAYS", 3)  # after the promised day

    BABEL_DEFAULT_LOCALE = "nl"
    BABEL_DEFAULT_TIMEZONE = AGENCY_TIMEZONE
    LANGUAGES = ("nl", "en")
    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "portal" / "translations")

    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True

    # Shared counters in production (every gunicorn worker sees the same attempts).
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", limiter_storage(_env("REDIS_URL")))
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute")  # per address
    LOGIN_ACCOUNT_RATE_LIMIT = _env("LOGIN_ACCOUNT_RATE_LIMIT", "20 per hour")  # per account
    DEBTOR_RATE_LIMIT = _env("DEBTOR_RATE_LIMIT", "20 per minute")
    API_RATE_LIMIT = _env("API_RATE_LIMIT", "120 per minute")  # per API token

    PASSWORD_RESET_MAX_AGE = _env_int("PASSWORD_RESET_MAX_AGE", 3600)
    DEBTOR_LINK_MAX_AGE = _env_int("DEBTOR_LINK_MAX_AGE", 30 * 24 * 3600)
    DEBTOR_MAX_FAILED_CODES = 5
    DEBTOR_LOCK_MINUTES = 15
    # The key of the access codes' keyed hash (portal.services.access_codes); falls back to
    # SECRET_KEY. Changing it voids every code printed so far.
    ACCESS_CODE_KEY = _env("ACCESS_CODE_KEY")
    PASSWORD_HASH_METHOD = _env("PASSWORD_HASH_METHOD", "scrypt")  # noqa: S105 (a method name)

    CASES_PER_PAGE = 25
    # A claims file with more rows than this is imported by a job on the `imports` queue.
    IMPORT_SYNC_MAX_ROWS = _env_int("IMPORT_SYNC_MAX_ROWS", 2000)


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    # A fixed development key keeps sessions across restarts; it is never used
    # in production (see ProductionConfig.check).
    SECRET_KEY = _env("SECRET_KEY", "dev-only-not-secret")
    # The embedded demo's trust account: made up, with valid check digits, so that a
    # remittance run can make its bank file. Production has no default (ProductionConfig.check).
    AGENCY_IBAN = _env("AGENCY_IBAN", "NL02ABNA0123456789")


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-only-not-secret"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    RATELIMIT_ENABLED = False
    SERVER_NAME = "portal.test"
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"  # noqa: S105
    MAIL_OUTBOX = None


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True

    @classmethod
    def check(cls) -> None:
        missing = [
            name
            for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "MAIL_SERVER", "AGENCY_IBAN")
            if not _env(name)
        ]
        if _env("PAYMENT_PROVIDER") == "mollie" and not _env("MOLLIE_API_KEY"):
            missing.append("MOLLIE_API_KEY")
        if missing:
            names = ", ".join(missing)
            raise RuntimeError(f"Production needs these environment variables: {names}")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
