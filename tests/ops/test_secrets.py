"""SECRETS_ARN: at start the app reads SECRET_KEY and DATABASE_URL from AWS Secrets Manager (moto
here), as deploy/aws/ai-prism.yaml stores them; a secret it cannot read stops the start."""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import text

from app.config import ConfigError, load_settings


@pytest.fixture
def secretsmanager(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="eu-west-1")


def make_secret(client, name: str, value) -> str:
    body = value if isinstance(value, str) else json.dumps(value)
    return client.create_secret(Name=name, SecretString=body)["ARN"]


def test_settings_come_from_the_secrets(secretsmanager):
    key_arn = make_secret(secretsmanager, "ai-prism/secret-key", {"SECRET_KEY": "k" * 64})
    db_arn = make_secret(secretsmanager, "ai-prism/database-url", {"DATABASE_URL": "postgresql://app:pw@db.internal:5432/aiprism"})
    settings = load_settings({"APP_ENV": "production", "SECRETS_ARN": f"{key_arn}, {db_arn}", "REDIS_URL": "redis://r:6379/0"})
    assert settings["SECRET_KEY"] == "k" * 64
    assert settings["DATABASE_URL"] == "postgresql://app:pw@db.internal:5432/aiprism"
    assert settings["PRODUCTION"] and not settings["EMBEDDED_DATABASE"]


def test_an_environment_property_of_the_same_name_wins(secretsmanager):
    arn = make_secret(secretsmanager, "ai-prism/secret-key", {"SECRET_KEY": "from-the-secret"})
    settings = load_settings({"SECRETS_ARN": arn, "SECRET_KEY": "set-by-hand"})
    assert settings["SECRET_KEY"] == "set-by-hand"


@pytest.mark.parametrize("value, message", [
    ("not json", "not a JSON object"),
    (["SECRET_KEY"], "not a JSON object"),
    ({"secret key": "x"}, "not a setting name"),
    ({"DB_POOL_SIZE": 3}, "not a setting name"),
])
def test_a_malformed_secret_stops_the_start(secretsmanager, value, message):
    arn = make_secret(secretsmanager, "ai-prism/bad", value)
    with pytest.raises(ConfigError, match=message):
        load_settings({"SECRETS_ARN": arn})


def test_a_missing_secret_or_a_wrong_arn_stops_the_start(secretsmanager):
    missing = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ai-prism/nothing-AbCdEf"
    with pytest.raises(ConfigError, match="could not read .*nothing"):
        load_settings({"SECRETS_ARN": missing})
    with pytest.raises(ConfigError, match="not a Secrets Manager secret ARN"):
        load_settings({"SECRETS_ARN": "ai-prism/secret-key"})


def test_the_app_starts_in_production_from_the_secrets(secretsmanager, monkeypatch, database_url, redis_url, tmp_path):
    """Only SECRETS_ARN (and the non-secret REDIS_URL) in the environment: the app signs with the
    secret's key and talks to the database the secret names."""
    from app import create_app
    from app.extensions import db

    key_arn = make_secret(secretsmanager, "ai-prism/secret-key", {"SECRET_KEY": "s" * 64})
    db_arn = make_secret(secretsmanager, "ai-prism/database-url", {"DATABASE_URL": database_url})
    for name in ("SECRET_KEY", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRETS_ARN", f"{key_arn},{db_arn}")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("MODEL_PROVIDER", "offline")
    monkeypatch.setenv("LOCAL_STORAGE_DIR", str(tmp_path / "storage"))
    app = create_app()
    try:
        assert app.config["SECRET_KEY"] == "s" * 64
        with app.app_context():
            assert db.session.execute(text("SELECT current_database()")).scalar() == database_url.rsplit("/", 1)[1]
    finally:
        app.extensions["database"].dispose()
