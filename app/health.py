"""GET /health (liveness, no I/O) and GET /health/ready (every dependency, each with a deadline)."""
from __future__ import annotations

import threading
import time

from flask import Blueprint, current_app, jsonify
from rq import Worker
from sqlalchemy import text

from app import __version__
from app.jobs import queue_depths
from app.metrics import trusted_caller

bp = Blueprint("health", __name__)


@bp.get("/health")
def liveness():
    return jsonify({"status": "ok", "version": __version__})


def _check_database(app):
    with app.extensions["database"].connect() as conn:
        conn.execute(text("SELECT 1"))
    return {}


def _check_redis(app):
    app.extensions["redis_probe"].ping()
    return {}


def _check_queues(app):
    return {"depths": queue_depths(app.extensions["redis_probe"])}


def _check_workers(app):
    # Reported, not required: the web keeps serving reviews while no worker runs.
    workers = Worker.all(connection=app.extensions["redis_probe"])
    return {"seen": len(workers), "busy": sum(1 for w in workers if w.get_state() == "busy")}


def _check_storage(app):
    return app.extensions["storage"].check()


def _probe_state(app, chain):
    """The chain's shared state read through the probe's Redis pool, so readiness answers even when
    every connection of the requests' pool is taken."""
    probe = app.extensions.get("model_state_probe")
    if probe is None:
        from app.llm.state import ChainState

        probe = ChainState(app.extensions["redis_probe"], prefix=chain.state.prefix,
                           breaker_threshold=chain.state.breaker_threshold)
        app.extensions["model_state_probe"] = probe
    return probe


def _check_models(app):
    """Models the chain could call now. Reported, not required: when every model is cooling, the
    instance still serves reviews and defers analyses, so the load balancer must keep it."""
    chain = app.extensions["model_chain"]
    state = _probe_state(app, chain).snapshot(chain.specs)
    available = [m["id"] for m in state if not (m["cooldown_remaining_s"] or m["disabled_remaining_s"] or m["breaker"] == "open")]
    return {"provider": app.config["MODEL_PROVIDER"], "primary_model": chain.primary.id,
            "available": len(available), "configured": len(state)}


CHECKS = {
    "database": _check_database,
    "redis": _check_redis,
    "queues": _check_queues,
    "workers": _check_workers,
    "storage": _check_storage,
    "models": _check_models,
}


def run_checks(app, timeout: float) -> dict:
    """Run every check at once; one that has not answered by the deadline counts as down."""
    results: dict[str, dict] = {}

    def run(name, check):
        started = time.monotonic()
        try:
            detail = check(app)
            results[name] = {"ok": True, **detail}
        except Exception as exc:  # a check's failure is its result, reported by name
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        results[name]["latency_ms"] = round((time.monotonic() - started) * 1000, 1)

    threads = [threading.Thread(target=run, args=item, daemon=True) for item in CHECKS.items()]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return {
        name: dict(results.get(name) or {"ok": False, "error": f"no answer within {timeout:g} s"})
        for name in CHECKS
    }


@bp.get("/health/ready")
def readiness():
    app = current_app._get_current_object()
    checks = run_checks(app, app.config["HEALTH_CHECK_TIMEOUT"])
    ready = all(result["ok"] for result in checks.values())
    config = app.config
    if config["PRODUCTION"]:
        mode = "production"
    elif config["EMBEDDED_DATABASE"] or config["EMBEDDED_REDIS"]:
        mode = "embedded"
    else:
        mode = "development"
    down = [name for name, result in checks.items() if not result["ok"]]
    body = {"status": "ok" if ready else "unavailable", "down": down}
    if trusted_caller():
        # Deployment facts and check details only for admins and the monitoring networks: an
        # anonymous caller (the load balancer, anyone on the internet) learns up or down and what.
        body.update({
            "version": __version__,
            "mode": mode,
            "region": config["AWS_REGION"],
            "bedrock_region": config["BEDROCK_REGION"],
            "primary_model": config["BEDROCK_MODEL_ID"],
            "model_provider": config["MODEL_PROVIDER"],
            "bucket": config["S3_BUCKET_NAME"],
            "checks": checks,
        })
    response = jsonify(body)
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response
