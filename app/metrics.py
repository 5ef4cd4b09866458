"""Prometheus metrics: HTTP requests by route, queue depth, jobs, and model calls per model.

Under gunicorn (several worker processes) and RQ (a forked work horse per job), prometheus-client's
multiprocess mode is used: each process writes its values to files under PROMETHEUS_MULTIPROC_DIR
and /metrics adds them up (gunicorn.conf.py prepares the folder and marks dead workers). Without
that setting the values live in this process alone, which is right for one process (tests, CLI).

Queue depth, workers seen and model cooldowns are read from Redis when /metrics is scraped, so every
process reports the same shared picture rather than its own copy.

GET /metrics answers to admins (session or Bearer token) and to addresses inside
METRICS_ALLOWED_NETWORKS; everyone else gets 404, as for anything they may not see.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import os
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)
REGISTRY = CollectorRegistry(auto_describe=True)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

HTTP_LATENCY = Histogram(
    "aiprism_http_request_duration_seconds", "Time to produce a response, by route (URL rule, not raw path).",
    ["method", "route"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
HTTP_REQUESTS = Counter(
    "aiprism_http_requests", "Responses by route and status code.", ["method", "route", "status"], registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "aiprism_job_duration_seconds", "Time a background job ran, by kind and outcome.", ["kind", "outcome"],
    registry=REGISTRY, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900),
)
JOBS = Counter("aiprism_jobs", "Background jobs finished, by kind and outcome.", ["kind", "outcome"], registry=REGISTRY)
MODEL_CALLS = Counter(
    "aiprism_model_calls", "Model call attempts by model, purpose and outcome.", ["model", "purpose", "outcome"],
    registry=REGISTRY,
)
MODEL_LATENCY = Histogram(
    "aiprism_model_call_duration_seconds", "Model call latency by model and outcome.", ["model", "outcome"],
    registry=REGISTRY, buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 60, 120, 240),
)
MODEL_THROTTLES = Counter("aiprism_model_throttles", "Calls a model refused with throttling.", ["model"], registry=REGISTRY)
MODEL_COOLDOWNS = Counter(
    "aiprism_model_cooldowns", "Cooldowns set on a model (throttles, quotas, breaker opening).", ["model"], registry=REGISTRY,
)
MODEL_FALLBACKS = Counter(
    "aiprism_model_fallbacks", "Requests answered by another model after the first one tried failed.",
    ["from_model", "to_model"], registry=REGISTRY,
)
MODEL_TOKENS = Counter(
    "aiprism_model_tokens", "Tokens per model: input, output, cache_read, cache_write.", ["model", "kind"], registry=REGISTRY,
)
TOKEN_KINDS = ("input", "output", "cache_read", "cache_write")
MODEL_CALL_RECORDS_LOST = Counter(
    "aiprism_model_call_records_lost", "model_calls rows not written: the writer's queue was full, or the database refused them.",
    ["reason"], registry=REGISTRY,
)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


# ---- recording (called from request hooks, the RQ worker and the model chain) ----------------------


def observe_model_call(model: str, purpose: str, outcome: str, latency_ms: float, usage: dict | None,
                       cooldown_s: float) -> None:
    """One model call attempt. Never raises: metrics must not fail the call they describe."""
    try:
        MODEL_CALLS.labels(model, purpose or "other", outcome).inc()
        MODEL_LATENCY.labels(model, outcome).observe(max(0.0, latency_ms) / 1000)
        if outcome == "throttle":
            MODEL_THROTTLES.labels(model).inc()
        if cooldown_s > 0:
            MODEL_COOLDOWNS.labels(model).inc()
        for kind in TOKEN_KINDS:
            value = (usage or {}).get(f"{kind}_tokens", 0)
            if value:
                MODEL_TOKENS.labels(model, kind).inc(value)
        emf("ModelCalls", 1, Model=model, Outcome=outcome)
        if outcome == "throttle":
            # Per model, and summed over every model of the chain (the Bedrock throttle alarm).
            emit(emf_record({"ModelThrottles": (1, "Count")}, dimension_sets=[["Model"], []], Model=model))
        if cooldown_s > 0:
            emf("ModelCooldowns", 1, Model=model)
    except Exception:
        log.exception("could not record model-call metrics")


def observe_fallback(from_model: str, to_model: str) -> None:
    try:
        MODEL_FALLBACKS.labels(from_model, to_model).inc()
        emf("ModelFallbacks", 1, Model=to_model)
    except Exception:
        log.exception("could not record a fallback metric")


def observe_job(kind: str, outcome: str, seconds: float) -> None:
    try:
        JOBS.labels(kind, outcome).inc()
        JOB_DURATION.labels(kind, outcome).observe(seconds)
        emf("JobDuration", seconds * 1000, unit="Milliseconds", Kind=kind, Outcome=outcome)
    except Exception:
        log.exception("could not record job metrics")


def mark_process_dead(pid: int) -> None:
    """A process that wrote metrics is gone (a gunicorn worker, an RQ job process): its live gauges
    stop counting; its counters and histograms are kept, as multiprocess mode intends."""
    if not multiprocess_dir():
        return
    try:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
    except Exception:
        log.exception("could not mark a metrics process dead")


# ---- CloudWatch Embedded Metric Format ------------------------------------------------------------

_emf_enabled = False
_emf_sink = None  # set by init_metrics: stdout, or the CloudWatch agent's EMF socket
EMF_NAMESPACE = "AIPrism"


class EmfSocket:
    """Newline-separated EMF records to the CloudWatch agent's EMF listener (``tcp://host:port``).

    The agent writes each record to CloudWatch Logs as one log event, where CloudWatch extracts the
    metrics. Records printed to stdout reach CloudWatch Logs only through the platform's log
    streaming, which may prefix each line, and a prefixed line is no longer a JSON object. A record
    that cannot be sent is dropped (and counted in the log): a metric must never fail what it measures."""

    def __init__(self, url: str, log_group: str):
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        if parts.scheme != "tcp" or not parts.hostname or not parts.port:
            raise ValueError(f"METRICS_EMF_ENDPOINT must look like tcp://127.0.0.1:25888, got {url!r}")
        self.address = (parts.hostname, parts.port)
        self.log_group = log_group
        self._sock = None
        self._pid = os.getpid()
        self.dropped = 0

    def __call__(self, record: dict) -> None:
        import socket

        if self._pid != os.getpid():  # a forked child (RQ job process): never write on the parent's socket
            self._sock, self._pid = None, os.getpid()
        record["_aws"]["LogGroupName"] = self.log_group
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        for _attempt in range(2):  # one reconnect: the agent may have restarted
            try:
                if self._sock is None:
                    self._sock = socket.create_connection(self.address, timeout=0.5)
                self._sock.sendall(line)
                return
            except OSError:
                self.close()
        self.dropped += 1
        if self.dropped in (1, 100) or self.dropped % 10000 == 0:
            log.warning("EMF records dropped (CloudWatch agent not reachable at %s:%s): %d", *self.address, self.dropped)

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None


def _print_record(record: dict) -> None:
    print(json.dumps(record, separators=(",", ":")), flush=True)


def emf_record(values: dict[str, tuple[float, str]], dimension_sets: list[list[str]] | None = None,
               **dimensions: str) -> dict:
    """One EMF record: ``values`` maps metric name to (value, unit). ``dimension_sets`` defaults to
    one set of every dimension given; ``[[...], []]`` also publishes the metrics with no dimension
    (the sum over every model, say), which an alarm can watch as one series."""
    sets = dimension_sets if dimension_sets is not None else [sorted(dimensions)]
    return {
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
            "Namespace": EMF_NAMESPACE, "Dimensions": sets,
            "Metrics": [{"Name": name, "Unit": unit} for name, (_value, unit) in values.items()],
        }]},
        **{name: value for name, (value, _unit) in values.items()}, **dimensions,
    }


def emit(record: dict) -> None:
    if not _emf_enabled:
        return
    (_emf_sink or _print_record)(record)


def emf(name: str, value: float, unit: str = "Count", **dimensions: str) -> None:
    """One metric as a CloudWatch EMF record (when METRICS_EMF is on): CloudWatch turns it into a
    metric in the AIPrism namespace, so alarms and dashboards need no scraper."""
    if _emf_enabled:
        emit(emf_record({name: (value, unit)}, **dimensions))


# Paths whose requests are not application traffic: load balancer health checks, assets, scrapes.
EMF_QUIET_PATHS = ("/health", "/static/", "/metrics", "/favicon.ico")


def emf_request(status: int, seconds: float) -> None:
    """Requests, ServerErrors (5xx) and Latency of one application request, with no dimension: what
    the 5xx-rate and p95-latency alarms watch."""
    if _emf_enabled:
        emit(emf_record({"Requests": (1, "Count"), "ServerErrors": (1 if status >= 500 else 0, "Count"),
                         "Latency": (round(seconds * 1000, 1), "Milliseconds")}, dimension_sets=[[]]))


# ---- values read at scrape time -------------------------------------------------------------------


class SharedStateCollector:
    """Queue depths, workers and model cooldowns from Redis: one picture whichever process is asked."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        from rq import Worker

        from app.jobs import queue_depths

        redis = self.app.extensions["redis_probe"]
        depth = GaugeMetricFamily("aiprism_queue_depth", "Jobs waiting in each RQ queue.", labels=["queue"])
        try:
            for name, count in queue_depths(redis).items():
                depth.add_metric([name], count)
            yield depth
            workers = Worker.all(connection=redis)
            yield GaugeMetricFamily("aiprism_workers", "RQ workers registered.", value=len(workers))
        except Exception as exc:
            log.warning("queue metrics unavailable: %s", exc)
        chain = self.app.extensions.get("model_chain")
        if chain is None:
            return
        cooling = GaugeMetricFamily("aiprism_model_cooldown_remaining_seconds", "Cooldown left per model.", labels=["model"])
        available = GaugeMetricFamily("aiprism_model_available", "1 when the chain may call the model now.", labels=["model"])
        try:
            for row in chain.state.snapshot(chain.specs):
                remaining = max(row["cooldown_remaining_s"] or 0, row["disabled_remaining_s"] or 0)
                cooling.add_metric([row["id"]], remaining)
                available.add_metric([row["id"]], 0 if remaining or row["breaker"] == "open" else 1)
            yield cooling
            yield available
        except Exception as exc:
            log.warning("model-chain metrics unavailable: %s", exc)


class _LocalCollector:
    """This process's own values (when not in multiprocess mode)."""

    def collect(self):
        yield from REGISTRY.collect()


def render(app: Flask) -> bytes:
    registry = CollectorRegistry()
    path = multiprocess_dir()
    if path:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        registry.register(_LocalCollector())
    registry.register(SharedStateCollector(app))
    return generate_latest(registry)


# ---- the endpoint and the request hooks -----------------------------------------------------------

bp = Blueprint("metrics", __name__)


def parse_networks(raw: list[str] | str) -> list:
    items = raw.split(",") if isinstance(raw, str) else raw
    return [ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip()]


def trusted_caller() -> bool:
    """An address in METRICS_ALLOWED_NETWORKS or a signed-in admin: who may see internals (GET
    /metrics, the details of GET /health/ready)."""
    from flask_login import current_user

    try:
        address = ipaddress.ip_address(request.remote_addr or "")
        if any(address in network for network in current_app.extensions["metrics_networks"]):
            return True
    except ValueError:
        pass
    return bool(current_user.is_authenticated and current_user.is_admin)


@bp.get("/metrics")
def metrics_endpoint():
    if not trusted_caller():
        from app.errors import APIError

        raise APIError(404, "not_found", "Not found.")
    response = Response(render(current_app._get_current_object()), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_metrics(app: Flask) -> None:
    """Request latency and status by route, and GET /metrics."""
    global _emf_enabled, _emf_sink
    _emf_enabled = bool(app.config.get("METRICS_EMF"))
    endpoint = app.config.get("METRICS_EMF_ENDPOINT")
    if _emf_enabled and endpoint and not isinstance(_emf_sink, EmfSocket):
        _emf_sink = EmfSocket(endpoint, app.config.get("METRICS_EMF_LOG_GROUP") or "ai-prism-metrics")
    app.extensions["metrics_networks"] = parse_networks(app.config.get("METRICS_ALLOWED_NETWORKS", []))

    @app.before_request
    def _start_timer():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("metrics_started", None)
        if started is not None:
            route = request.url_rule.rule if request.url_rule is not None else "unmatched"
            elapsed = time.perf_counter() - started
            try:
                HTTP_LATENCY.labels(request.method, route).observe(elapsed)
                HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
                if not request.path.startswith(EMF_QUIET_PATHS):
                    emf_request(response.status_code, elapsed)
            except Exception:  # a metrics folder gone missing must not turn responses into 500s
                log.exception("could not record request metrics")
        return response

    app.register_blueprint(bp)
