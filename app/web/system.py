"""/api/admin/queues (queue depths and workers) and /api/admin/model-calls (the latest model calls),
for the admin page."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from rq import Queue, Worker
from rq.registry import DeferredJobRegistry, FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import select

from app import fair_queue
from app.auth.access import require_role
from app.errors import APIError
from app.extensions import db
from app.jobs import QUEUE_NAMES, SERIALIZER
from app.models import ModelCall

bp = Blueprint("admin_system", __name__, url_prefix="/api/admin")


def _iso(value):
    return value.isoformat() if value is not None else None


@bp.get("/queues")
@require_role("admin")
def queues():
    redis = current_app.extensions["redis"]
    depths = []
    for name in QUEUE_NAMES:
        queue = Queue(name, connection=redis, serializer=SERIALIZER)
        depths.append({
            "name": name, "queued": queue.count,
            "running": StartedJobRegistry(queue=queue).count,
            "scheduled": ScheduledJobRegistry(queue=queue).count,
            "deferred": DeferredJobRegistry(queue=queue).count,
            "failed": FailedJobRegistry(queue=queue).count,
            # analyses created but still waiting for their user's turn in the fair queue
            "waiting_turn": fair_queue.backlog(redis) if name == "analysis" else 0,
        })
    workers = []
    for worker in Worker.all(connection=redis):
        job = worker.get_current_job_id()
        workers.append({
            "name": worker.name, "hostname": worker.hostname, "pid": worker.pid, "state": worker.get_state(),
            "queues": worker.queue_names(), "current_job": job,
            "last_heartbeat": _iso(worker.last_heartbeat), "birth": _iso(worker.birth_date),
            "successful_jobs": worker.successful_job_count, "failed_jobs": worker.failed_job_count,
        })
    workers.sort(key=lambda w: w["name"])
    return jsonify({"queues": depths, "workers": workers})


@bp.get("/model-calls")
@require_role("admin")
def model_calls():
    try:
        limit = min(500, max(1, int(request.args.get("limit", 50))))
    except ValueError as exc:
        raise APIError(400, "invalid_limit", "limit must be a whole number from 1 to 500.") from exc
    rows = db.session.scalars(select(ModelCall).order_by(ModelCall.id.desc()).limit(limit))
    return jsonify({"calls": [{
        "id": c.id, "at": _iso(c.created_at), "purpose": c.purpose, "provider": c.provider, "model": c.model_id,
        "outcome": c.outcome, "error_code": c.error_code, "attempt": c.attempt, "document_id": c.document_id,
        "input_tokens": c.input_tokens, "output_tokens": c.output_tokens, "cache_read_tokens": c.cache_read_tokens,
        "cache_write_tokens": c.cache_write_tokens, "latency_ms": c.latency_ms,
    } for c in rows]})
