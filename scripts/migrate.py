"""`python -m scripts.migrate`: apply the database migrations (the deploy step Elastic Beanstalk runs
once per deployment, on the leader instance, as a container command).

Container commands do not always see the environment properties, so when DATABASE_URL is not in
the environment they are read from the platform's own `get-config environment`. With SECRETS_ARN the database URL comes from Secrets
Manager, through load_settings like every other process.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GET_CONFIG = "/opt/elasticbeanstalk/bin/get-config"


def platform_environment(get_config: str = GET_CONFIG) -> dict[str, str]:
    if not os.path.exists(get_config):
        return {}
    output = subprocess.run([get_config, "environment"], capture_output=True, text=True, check=True).stdout
    return {str(k): str(v) for k, v in (json.loads(output or "{}") or {}).items()}


def main() -> int:
    env = dict(os.environ)
    if not env.get("DATABASE_URL") and not env.get("SECRETS_ARN"):
        env = {**platform_environment(), **env}  # load_settings reads SECRETS_ARN's secrets itself
    from app.cli import upgrade_database
    from app.config import load_settings

    settings = load_settings(env)
    upgrade_database(settings["DATABASE_URL"])
    print("database migrated to head")
    return 0


if __name__ == "__main__":
    sys.exit(main())
