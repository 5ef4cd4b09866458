"""Settings from the environment, with embedded defaults for a laptop.

Every setting ops rely on is read here and nowhere else. With ``APP_ENV=production`` the app refuses
to start when a setting that has no safe default is missing, and names each missing one.
"""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"

# The embedded Valkey server that `make run` starts listens here when REDIS_URL is unset.
EMBEDDED_REDIS_PORT = 6390
DEFAULT_PRIMARY_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"

REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL")


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


def _str(env, name, default):
    value = env.get(name)
    return default if value is None or value.strip() == "" else value.strip()


def _int(env, name, default, minimum=None):
    raw = _str(env, name, None)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env, name, default, minimum=None):
    raw = _str(env, name, None)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {raw}")
    return value


def _bool(env, name, default):
    raw = _str(env, name, None)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _list(env, name):
    raw = _str(env, name, "")
    return [part.strip() for part in raw.split(",") if part.strip()]


def _networks(env, name, default):
    """A comma-separated list of CIDR blocks, each checked here so a typo fails at start."""
    import ipaddress

    items = [part.strip() for part in _str(env, name, default).split(",") if part.strip()]
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise ConfigError(f"{name} must be a comma-separated list of CIDR blocks, got {item!r}") from exc
    return items


def _emf_endpoint(env) -> str | None:
    value = _str(env, "METRICS_EMF_ENDPOINT", None)
    if value is not None:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme != "tcp" or not parts.hostname or not port:
            raise ConfigError(f"METRICS_EMF_ENDPOINT must look like tcp://127.0.0.1:25888, got {value!r}")
    return value


def _aws_credentials_present(env) -> bool:
    """True when boto3 would find credentials without a network call we can avoid."""
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return True
    if env.get("AWS_PROFILE") or env.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
        return True
    if env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        return True
    # On Elastic Beanstalk the instance role provides credentials through instance metadata.
    return bool(env.get("AWS_EC2_METADATA_ROLE") or Path("/opt/elasticbeanstalk").exists())


def load_settings(environ=None) -> dict:
    """Build the Flask config mapping from an environment mapping (``os.environ`` by default)."""
    env = os.environ if environ is None else environ
    if _str(env, "SECRETS_ARN", None):
        from app.secrets import with_secrets

        env = with_secrets(env)
    app_env = _str(env, "APP_ENV", "development").lower()
    production = app_env == "production"

    if production:
        missing = [name for name in REQUIRED_IN_PRODUCTION if not _str(env, name, None)]
        if missing:
            raise ConfigError(
                "APP_ENV=production but these settings are missing: " + ", ".join(missing)
            )

    database_url = _str(env, "DATABASE_URL", None)
    embedded_database = database_url is None
    if embedded_database:
        database_url = f"sqlite:///{INSTANCE_DIR / 'ai-prism.db'}"
    embedded_redis_port = _int(env, "EMBEDDED_REDIS_PORT", EMBEDDED_REDIS_PORT, minimum=1)
    redis_url = _str(env, "REDIS_URL", f"redis://127.0.0.1:{embedded_redis_port}/0")
    bucket = _str(env, "S3_BUCKET_NAME", None)

    provider = _str(env, "MODEL_PROVIDER", None)
    if provider is None:
        provider = "bedrock" if _aws_credentials_present(env) else "offline"
    if provider not in ("bedrock", "offline"):
        raise ConfigError(f"MODEL_PROVIDER must be bedrock or offline, got {provider!r}")

    log_format = _str(env, "LOG_FORMAT", "json").lower()
    if log_format not in ("json", "text"):
        raise ConfigError(f"LOG_FORMAT must be json or text, got {log_format!r}")

    samesite = _str(env, "SESSION_COOKIE_SAMESITE", "Lax")
    if samesite not in ("Lax", "Strict", "None"):
        raise ConfigError(f"SESSION_COOKIE_SAMESITE must be Lax, Strict or None, got {samesite!r}")

    aws_region = _str(env, "AWS_REGION", _str(env, "AWS_DEFAULT_REGION", "us-east-1"))
    secret_key = _str(env, "SECRET_KEY", None)

    return {
        "APP_ENV": app_env,
        "PRODUCTION": production,
        # A development key is made per instance folder so restarts keep sessions; never in production.
        "SECRET_KEY": secret_key,
        "DATABASE_URL": database_url,
        "EMBEDDED_DATABASE": embedded_database,
        # SQLAlchemy's pool per process (each gunicorn worker, each RQ job process): DB_POOL_SIZE kept
        # open, DB_MAX_OVERFLOW more opened under load, and a request that finds none free within
        # DB_POOL_TIMEOUT seconds answers 503 with Retry-After. Connections older than
        # DB_POOL_RECYCLE seconds are replaced (below RDS Proxy's and NAT idle limits).
        "DB_POOL_SIZE": _int(env, "DB_POOL_SIZE", 10, minimum=1),
        "DB_MAX_OVERFLOW": _int(env, "DB_MAX_OVERFLOW", 20, minimum=0),
        "DB_POOL_TIMEOUT": _float(env, "DB_POOL_TIMEOUT", 5.0, minimum=0.01),
        "DB_POOL_RECYCLE": _int(env, "DB_POOL_RECYCLE", 1800, minimum=-1),
        "SECRETS_ARN": _str(env, "SECRETS_ARN", None),
        "REDIS_URL": redis_url,
        "EMBEDDED_REDIS": _str(env, "REDIS_URL", None) is None,
        "EMBEDDED_REDIS_PORT": embedded_redis_port,
        "S3_BUCKET_NAME": bucket,
        "S3_PREFIX": _str(env, "S3_PREFIX", ""),
        "EXPORT_PREFIX": _str(env, "EXPORT_PREFIX", "Logs and data/"),
        "LOCAL_STORAGE_DIR": _str(env, "LOCAL_STORAGE_DIR", str(INSTANCE_DIR / "storage")),
        "AWS_REGION": aws_region,
        "BEDROCK_REGION": _str(env, "BEDROCK_REGION", aws_region),
        "BEDROCK_ENDPOINT_URL": _str(env, "BEDROCK_ENDPOINT_URL", None),
        "BEDROCK_MODEL_ID": _str(env, "BEDROCK_MODEL_ID", DEFAULT_PRIMARY_MODEL),
        "BEDROCK_MODEL_CHAIN": _str(env, "BEDROCK_MODEL_CHAIN", None),
        "BEDROCK_MAX_TOKENS": _int(env, "BEDROCK_MAX_TOKENS", 8192, minimum=1),
        "BEDROCK_TEMPERATURE": _float(env, "BEDROCK_TEMPERATURE", 0.2),
        "BEDROCK_READ_TIMEOUT": _float(env, "BEDROCK_READ_TIMEOUT", 240.0),
        "BEDROCK_CONNECT_TIMEOUT": _float(env, "BEDROCK_CONNECT_TIMEOUT", 10.0),
        "MAX_REQUESTS_PER_MINUTE": _int(env, "MAX_REQUESTS_PER_MINUTE", 200, minimum=1),
        "MAX_CONCURRENT_REQUESTS": _int(env, "MAX_CONCURRENT_REQUESTS", 20, minimum=1),
        "MAX_TOKENS_PER_MINUTE": _int(env, "MAX_TOKENS_PER_MINUTE", 200_000, minimum=1),
        "CIRCUIT_BREAKER_FAILURE_THRESHOLD": _int(env, "CIRCUIT_BREAKER_FAILURE_THRESHOLD", 5, minimum=1),
        "CIRCUIT_BREAKER_TIMEOUT": _int(env, "CIRCUIT_BREAKER_TIMEOUT", 60, minimum=1),
        "MODEL_UNUSABLE_PROBE_INTERVAL": _int(env, "MODEL_UNUSABLE_PROBE_INTERVAL", 3600, minimum=10),
        "ENABLE_EXTENDED_THINKING": _bool(env, "ENABLE_EXTENDED_THINKING", False),
        "ENABLE_MULTI_MODEL_FALLBACK": _bool(env, "ENABLE_MULTI_MODEL_FALLBACK", True),
        "MODEL_PROVIDER": provider,
        "SESSION_COOKIE_SECURE": _bool(env, "SESSION_COOKIE_SECURE", production),
        "SESSION_COOKIE_HTTPONLY": _bool(env, "SESSION_COOKIE_HTTPONLY", True),
        "SESSION_COOKIE_SAMESITE": samesite,
        "SESSION_COOKIE_NAME": _str(env, "SESSION_COOKIE_NAME", "__Host-ai-prism" if production else "ai-prism"),
        "SESSION_KEY_PREFIX": _str(env, "SESSION_KEY_PREFIX", "ai-prism:session:"),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_int(env, "SESSION_LIFETIME_HOURS", 12, minimum=1)),
        "CORS_ALLOWED_ORIGINS": _list(env, "CORS_ALLOWED_ORIGINS"),
        "LOG_LEVEL": _str(env, "LOG_LEVEL", "INFO").upper(),
        "LOG_FORMAT": log_format,
        "PROXY_COUNT": _int(env, "PROXY_COUNT", 0, minimum=0),
        # Sign-in throttling (app/auth/throttle.py): failures per (account, address) and per address
        # are refused past these; failures per account only slow guessing down.
        "LOGIN_PAIR_FAILURE_LIMIT": _str(env, "LOGIN_PAIR_FAILURE_LIMIT", "10/15 minutes"),
        "LOGIN_ADDRESS_FAILURE_LIMIT": _str(env, "LOGIN_ADDRESS_FAILURE_LIMIT", "100/15 minutes"),
        "LOGIN_SLOWDOWN_AFTER": _int(env, "LOGIN_SLOWDOWN_AFTER", 5, minimum=1),
        "LOGIN_SLOWDOWN_MAX_SECONDS": _int(env, "LOGIN_SLOWDOWN_MAX_SECONDS", 300, minimum=1),
        "TOKEN_DEFAULT_DAYS": _int(env, "TOKEN_DEFAULT_DAYS", 90, minimum=1),
        "TOKEN_MAX_DAYS": _int(env, "TOKEN_MAX_DAYS", 365, minimum=1),
        "HEALTH_CHECK_TIMEOUT": _float(env, "HEALTH_CHECK_TIMEOUT", 1.5),
        "MAX_UPLOAD_BYTES": _int(env, "MAX_UPLOAD_MB", 20, minimum=1) * 1024 * 1024,
        # The upload and an optional guidelines file, plus room for the multipart framing.
        "MAX_CONTENT_LENGTH": 2 * _int(env, "MAX_UPLOAD_MB", 20, minimum=1) * 1024 * 1024 + 256 * 1024,
        "MAX_UNZIPPED_BYTES": _int(env, "MAX_UNZIPPED_MB", 200, minimum=1) * 1024 * 1024,
        "MAX_ZIP_ENTRIES": _int(env, "MAX_ZIP_ENTRIES", 5000, minimum=10),
        "ANALYSIS_MAX_WAIT_S": _int(env, "ANALYSIS_MAX_WAIT_S", 300, minimum=10),
        # Abuse resistance: what one upload, one analysis and one user may ask of the workers and models.
        "MAX_SECTIONS": _int(env, "MAX_SECTIONS", 2000, minimum=2),
        "MAX_CHUNKS_PER_ANALYSIS": _int(env, "MAX_CHUNKS_PER_ANALYSIS", 8, minimum=1),
        "MAX_QUEUED_ANALYSES_PER_USER": _int(env, "MAX_QUEUED_ANALYSES_PER_USER", 2000, minimum=1),
        "CHAT_RATE_LIMIT": _str(env, "CHAT_RATE_LIMIT", "30/minute"),
        "UPLOAD_RATE_LIMIT": _str(env, "UPLOAD_RATE_LIMIT", "30/minute"),
        "ANALYSIS_RATE_LIMIT": _str(env, "ANALYSIS_RATE_LIMIT", "60/minute"),
        "EXPORT_RATE_LIMIT": _str(env, "EXPORT_RATE_LIMIT", "20/minute"),
        "USER_STORAGE_QUOTA_BYTES": _int(env, "USER_STORAGE_QUOTA_MB", 1024, minimum=1) * 1024 * 1024,
        "MAX_JSON_BYTES": _int(env, "MAX_JSON_KB", 1024, minimum=16) * 1024,
        "MIN_CONFIDENCE": _float(env, "MIN_CONFIDENCE", 0.3),
        # A document's summary runs again after decisions at most once per this many seconds.
        "SUMMARY_REFRESH_INTERVAL_S": _int(env, "SUMMARY_REFRESH_INTERVAL_S", 60, minimum=1),
        # The learning loop (app/review/learning.py): on unless switched off here or by an admin.
        "LEARNING_ENABLED": _bool(env, "LEARNING_ENABLED", True),
        "LEARNING_MIN_DECISIONS": _int(env, "LEARNING_MIN_DECISIONS", 10, minimum=1),
        "LEARNING_LOW_ACCEPTANCE": _float(env, "LEARNING_LOW_ACCEPTANCE", 0.3),
        "LEARNING_EXAMPLE_TOKENS": _int(env, "LEARNING_EXAMPLE_TOKENS", 600, minimum=0),
        # Where browsers fetch /static/… from: a CDN (e.g. CloudFront) in front of the app; empty: the app.
        "STATIC_BASE_URL": _str(env, "STATIC_BASE_URL", "").rstrip("/"),
        "SCHEDULER_INTERVAL_SECONDS": _int(env, "SCHEDULER_INTERVAL_SECONDS", 60, minimum=1),
        # `flask worker`: job processes per worker command, and when each is replaced by a fresh one.
        "WORKER_PROCESSES": _int(env, "WORKER_PROCESSES", 2, minimum=1),
        "WORKER_MAX_JOBS": _int(env, "WORKER_MAX_JOBS", 1000, minimum=1),
        "WORKER_MAX_MEMORY_MB": _int(env, "WORKER_MAX_MEMORY_MB", 1024, minimum=64),
        "METRICS_ALLOWED_NETWORKS": _networks(env, "METRICS_ALLOWED_NETWORKS", "127.0.0.1/32,::1/128"),
        "METRICS_EMF": _bool(env, "METRICS_EMF", False),
        # Where EMF records go: empty, stdout; tcp://host:port, the CloudWatch agent's EMF listener
        # (which writes them to the log group METRICS_EMF_LOG_GROUP).
        "METRICS_EMF_ENDPOINT": _emf_endpoint(env),
        "METRICS_EMF_LOG_GROUP": _str(env, "METRICS_EMF_LOG_GROUP", "ai-prism-metrics"),
        # Redis pools per process: requests never share a connection with document event streams.
        "REDIS_MAX_CONNECTIONS": _int(env, "REDIS_MAX_CONNECTIONS", 50, minimum=2),
        "REDIS_POOL_TIMEOUT": _float(env, "REDIS_POOL_TIMEOUT", 5.0),
        "REDIS_EVENTS_MAX_CONNECTIONS": _int(env, "REDIS_EVENTS_MAX_CONNECTIONS", 4, minimum=1),
        # Server-sent event streams (GET /api/documents/{id}/events).
        "EVENTS_MAX_STREAMS_PER_USER": _int(env, "EVENTS_MAX_STREAMS_PER_USER", 10, minimum=1),
        "EVENTS_IDLE_TIMEOUT": _int(env, "EVENTS_IDLE_TIMEOUT", 600, minimum=5),
        "EVENTS_MAX_STREAM_SECONDS": _int(env, "EVENTS_MAX_STREAM_SECONDS", 1800, minimum=10),
        "EVENTS_KEEPALIVE_SECONDS": _float(env, "EVENTS_KEEPALIVE_SECONDS", 15.0),
        "EVENTS_QUEUE_SIZE": _int(env, "EVENTS_QUEUE_SIZE", 100, minimum=1),
        "EVENTS_LEASE_SECONDS": _int(env, "EVENTS_LEASE_SECONDS", 60, minimum=3),
    }


def development_secret_key() -> str:
    """A random key kept under instance/ so a laptop's sessions survive restarts."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        import secrets

        tmp = path.with_name(f".secret_key.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # atomic: the first process to start wins, the others read its key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
