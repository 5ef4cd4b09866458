import pytest

from app.config import ConfigError, load_settings


def test_embedded_defaults_when_nothing_is_set():
    settings = load_settings({})
    assert settings["DATABASE_URL"].startswith("sqlite:///") and settings["DATABASE_URL"].endswith("instance/ai-prism.db")
    assert settings["EMBEDDED_DATABASE"] and settings["EMBEDDED_REDIS"]
    assert settings["REDIS_URL"] == "redis://127.0.0.1:6390/0"
    assert settings["EXPORT_PREFIX"] == "Logs and data/"
    assert settings["MODEL_PROVIDER"] == "offline"
    assert settings["S3_BUCKET_NAME"] is None
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert settings["SESSION_COOKIE_SECURE"] is False
    assert settings["BEDROCK_CONNECT_TIMEOUT"] == 10 and settings["BEDROCK_READ_TIMEOUT"] == 240
    assert settings["ENABLE_MULTI_MODEL_FALLBACK"] is True


def test_production_refuses_to_start_and_names_every_missing_setting():
    with pytest.raises(ConfigError) as info:
        load_settings({"APP_ENV": "production"})
    message = str(info.value)
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        assert name in message


def test_production_names_only_what_is_missing():
    with pytest.raises(ConfigError) as info:
        load_settings({"APP_ENV": "production", "SECRET_KEY": "s" * 40, "DATABASE_URL": "postgresql://x/y"})
    assert "REDIS_URL" in str(info.value)
    assert "SECRET_KEY" not in str(info.value)


def test_production_settings_turn_on_secure_cookies():
    settings = load_settings({
        "APP_ENV": "production", "SECRET_KEY": "s" * 40,
        "DATABASE_URL": "postgresql://db/app", "REDIS_URL": "redis://cache:6379/0",
    })
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert not settings["EMBEDDED_DATABASE"]


@pytest.mark.parametrize("name,value", [
    ("BEDROCK_MAX_TOKENS", "lots"),
    ("MAX_REQUESTS_PER_MINUTE", "0"),
    ("ENABLE_EXTENDED_THINKING", "maybe"),
    ("SESSION_COOKIE_SAMESITE", "sideways"),
    ("MODEL_PROVIDER", "openai"),
])
def test_malformed_settings_are_named(name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value})


def test_provider_follows_aws_credentials():
    assert load_settings({"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"})["MODEL_PROVIDER"] == "bedrock"
    assert load_settings({"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "MODEL_PROVIDER": "offline"})["MODEL_PROVIDER"] == "offline"


def test_create_app_in_production_without_secret_fails(monkeypatch):
    from app import create_app

    monkeypatch.setenv("APP_ENV", "production")
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()
