"""Gunicorn settings for the web process (Elastic Beanstalk and `make run`)."""
import json
import os
import time

from gunicorn.glogging import Logger

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", os.environ.get("GUNICORN_WORKERS", "4")))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
# Matches the load balancer's idle timeout, so long streams (SSE chat) are not cut by gunicorn first.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "600"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 75  # longer than the ALB's keep-alive expectations, so it closes idle connections first
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))
accesslog = "-"
errorlog = "-"
# LOG_FORMAT=text (`make run`): a person at a terminal sees gunicorn's warnings and errors only, and
# an access line only for a request that failed on the server (5xx). JSON (production) keeps all.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json").strip().lower()
loglevel = "warning" if LOG_FORMAT == "text" else os.environ.get("LOG_LEVEL", "info").lower()
# Never logged: load balancer and `make run` health checks, and static files (thousands of lines a day
# that say nothing).
QUIET_PATHS = ("/health", "/static/", "/favicon.ico")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "ai-prism-web"

# Prometheus multiprocess mode: every worker writes its metric values to files in one folder and
# /metrics adds them up. PROMETHEUS_MULTIPROC_DIR is set on Elastic Beanstalk (shared with the RQ
# worker on the instance, so one scrape sees both); otherwise each gunicorn master makes its own
# fresh folder and removes it on exit. It must be in the environment before a worker imports the app.
_OWN_METRICS_DIR = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import tempfile

    _OWN_METRICS_DIR = tempfile.mkdtemp(prefix="ai-prism-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _OWN_METRICS_DIR
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def post_worker_init(worker):
    """The app is loaded in this worker: move everything loaded so far (modules, the app, its boto3
    clients) out of the garbage collector's sight. Otherwise every full collection walks that heap,
    about 0.1 s here, and a gevent worker serves nothing else meanwhile: all its requests wait. The
    objects frozen live as long as the worker anyway."""
    import gc

    gc.collect()
    gc.freeze()


def child_exit(server, worker):
    """A worker is gone: drop its live-gauge files so they stop counting (counters and histograms
    of dead workers are kept, as multiprocess mode intends)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _OWN_METRICS_DIR:
        import shutil

        shutil.rmtree(_OWN_METRICS_DIR, ignore_errors=True)


class JsonAccessLogger(Logger):
    """Access log lines as one JSON object each, carrying the request id; in text form a short line
    for server errors only. Health checks and static files are never logged."""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        path = environ.get("PATH_INFO", "")
        if path.startswith(QUIET_PATHS):
            return
        atoms = self.atoms(resp, req, environ, request_time)
        if LOG_FORMAT == "text":
            status = str(atoms.get("s", ""))
            if status.startswith("5"):
                self.access_log.info("%s  %s %s answered %s (%.0f ms)", time.strftime("%H:%M:%S"), atoms.get("m"),
                                     atoms.get("U"), status, request_time.total_seconds() * 1000)
            return
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "method": atoms.get("m"),
            "path": atoms.get("U"),
            "status": atoms.get("s"),
            "bytes": atoms.get("B"),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "remote": atoms.get("h"),
            "request_id": atoms.get("{x-request-id}o"),
        }
        try:
            self.access_log.info(json.dumps(line))
        except Exception:
            self.exception("failed to write access log")


logger_class = JsonAccessLogger
