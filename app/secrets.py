"""Settings kept in AWS Secrets Manager, read once at start when SECRETS_ARN is set.

SECRETS_ARN is a comma-separated list of secret ARNs. Each secret's value is a JSON object whose
keys are setting names (``{"SECRET_KEY": "…"}``, ``{"DATABASE_URL": "postgresql://…"}``), which is
what deploy/aws/ai-prism.yaml creates. Their values fill in the settings the environment does not
set itself: an environment property of the same name wins, so one value can be overridden by hand
without touching the secret. Any failure to read a secret stops the start with a message naming it:
a production process must not come up with a made-up key or without its database.
"""
from __future__ import annotations

import json
import re

from app.config import ConfigError

NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


class SecretsError(ConfigError):
    """A secret named in SECRETS_ARN could not be read or is not a JSON object of settings."""


def region_of(arn: str) -> str:
    """arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME → REGION."""
    parts = arn.split(":")
    if len(parts) < 7 or parts[2] != "secretsmanager" or not parts[3]:
        raise SecretsError(f"SECRETS_ARN: {arn!r} is not a Secrets Manager secret ARN")
    return parts[3]


def read_secrets(arns: list[str], client_factory=None) -> dict[str, str]:
    """The settings held by these secrets, merged in order (a later secret wins on a shared name)."""
    if client_factory is None:
        import boto3

        def client_factory(region):
            return boto3.client("secretsmanager", region_name=region)

    settings: dict[str, str] = {}
    clients = {}
    for arn in arns:
        region = region_of(arn)
        client = clients.get(region) or clients.setdefault(region, client_factory(region))
        try:
            raw = client.get_secret_value(SecretId=arn)["SecretString"]
        except Exception as exc:  # botocore's ClientError, no credentials, no network: all fatal here
            raise SecretsError(f"SECRETS_ARN: could not read {arn}: {type(exc).__name__}: {exc}") from exc
        try:
            values = json.loads(raw)
        except ValueError as exc:
            raise SecretsError(f"SECRETS_ARN: {arn} is not a JSON object of settings") from exc
        if not isinstance(values, dict):
            raise SecretsError(f"SECRETS_ARN: {arn} is not a JSON object of settings")
        for name, value in values.items():
            if not NAME.fullmatch(str(name)) or not isinstance(value, str):
                raise SecretsError(f"SECRETS_ARN: {arn} holds {name!r}, which is not a setting name with a text value")
            settings[name] = value
    return settings


def with_secrets(env) -> dict:
    """``env`` plus the settings of the secrets SECRETS_ARN names, for the names ``env`` leaves unset."""
    arns = [part.strip() for part in (env.get("SECRETS_ARN") or "").split(",") if part.strip()]
    if not arns:
        return env
    fetched = read_secrets(arns)
    merged = dict(env)
    for name, value in fetched.items():
        if not (merged.get(name) or "").strip():
            merged[name] = value
    return merged
