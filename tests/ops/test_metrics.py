"""GET /metrics: who may read it, and what it says (requests by route, status codes, queue depth,
jobs, model calls, throttles, fallbacks, cooldowns and tokens per model), also summed across
gunicorn's worker processes and an RQ worker's forked work horses (multiprocess mode)."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from app.config import ConfigError, load_settings
from app.jobs import enqueue
from tests.conftest import app_config, login
from tests.llm.conftest import aws_env, fake, make_chain, provider, redis_client  # noqa: F401  (fixtures)
from tests.llm.test_chain import REQUEST
from tests.support.processes import BIN, ROOT, Gunicorn, process_env


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, sorted labels…): value} from the exposition text."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, *sorted(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels) -> float:
    return samples(text).get((name, *sorted(labels.items())), 0.0)


def test_internal_network_may_read_and_others_get_404(app, client, make_user):
    # Default allow-list: loopback only (an agent on the instance).
    assert client.get("/metrics").status_code == 200
    outside = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.get("/metrics", environ_base=outside).status_code == 404
    make_user("reviewer@example.com")
    assert login(client, "reviewer@example.com").status_code == 200
    assert client.get("/metrics", environ_base=outside).status_code == 404


def test_admins_may_read_from_anywhere(client, make_user):
    make_user("admin@example.com", role="admin")
    assert login(client, "admin@example.com").status_code == 200
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert response.status_code == 200 and response.mimetype == "text/plain"


def test_allowed_networks_setting(database_url, redis_url, tmp_path):
    app = create_app(app_config(database_url, redis_url, tmp_path, METRICS_ALLOWED_NETWORKS=["10.0.0.0/8", "fd00::/8"]))
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "fd00::1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 404
    assert load_settings({"METRICS_ALLOWED_NETWORKS": "10.0.0.0/8, 192.168.1.0/24"})["METRICS_ALLOWED_NETWORKS"] == ["10.0.0.0/8", "192.168.1.0/24"]
    with pytest.raises(ConfigError, match="METRICS_ALLOWED_NETWORKS"):
        load_settings({"METRICS_ALLOWED_NETWORKS": "10.0.0.0/33"})


def test_requests_by_route_not_raw_path_and_queue_depth(app, client):
    before = client.get("/metrics").get_data(as_text=True)
    for document_id in (123456, 654321):
        assert client.get(f"/api/documents/{document_id}").status_code == 401
    client.get("/no/such/page/42")
    with app.app_context():
        enqueue("purge_expired_tokens", job_id="metrics-test-job")
    text = client.get("/metrics").get_data(as_text=True)
    route = "/api/documents/<int:document_id>"
    assert value(text, "aiprism_http_requests_total", method="GET", route=route, status="401") - \
        value(before, "aiprism_http_requests_total", method="GET", route=route, status="401") == 2
    assert value(text, "aiprism_http_request_duration_seconds_count", method="GET", route=route) >= 2
    # The raw ids never become label values (a timestamp's digits may hold them, so look in labels).
    assert '"/api/documents/123456"' not in text and '"/api/documents/654321"' not in text
    assert not re.search(r'="[^"]*(123456|654321)[^"]*"', text) and "/no/such/page" not in text
    assert value(text, "aiprism_http_requests_total", method="GET", route="unmatched", status="404") >= 1
    assert value(text, "aiprism_queue_depth", queue="maintenance") == 1
    assert value(text, "aiprism_queue_depth", queue="analysis") == 0


def test_model_calls_throttles_fallbacks_cooldowns_and_tokens(app, client, make_chain, fake):
    before = client.get("/metrics").get_data(as_text=True)
    chain = make_chain()
    fake.fault("throttle", model="model-0", count=1)
    response = chain.complete(REQUEST, context={"purpose": "analysis"})
    assert response.model_id == "model-1"
    chain.flush()  # a plain call's success is reported, and its metrics kept, off the call's path
    text = client.get("/metrics").get_data(as_text=True)

    def delta(name, **labels):
        return value(text, name, **labels) - value(before, name, **labels)

    assert delta("aiprism_model_calls_total", model="model-0", purpose="analysis", outcome="throttle") == 1
    assert delta("aiprism_model_calls_total", model="model-1", purpose="analysis", outcome="success") == 1
    assert delta("aiprism_model_throttles_total", model="model-0") == 1
    assert delta("aiprism_model_cooldowns_total", model="model-0") == 1
    assert delta("aiprism_model_fallbacks_total", from_model="model-0", to_model="model-1") == 1
    assert delta("aiprism_model_tokens_total", model="model-1", kind="input") == response.input_tokens
    assert delta("aiprism_model_tokens_total", model="model-1", kind="output") == response.output_tokens
    assert delta("aiprism_model_call_duration_seconds_count", model="model-1", outcome="success") == 1


def test_emf_lines_when_enabled(capsys):
    from app import metrics

    metrics._emf_enabled = True
    try:
        metrics.emf("QueueDepth", 3, Queue="analysis")
    finally:
        metrics._emf_enabled = False
    import json

    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["QueueDepth"] == 3 and line["Queue"] == "analysis"
    directive = line["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "AIPrism" and directive["Dimensions"] == [["Queue"]]
    assert directive["Metrics"] == [{"Name": "QueueDepth", "Unit": "Count"}]


@pytest.fixture
def emf_agent(database_url, redis_url, tmp_path):
    """A TCP listener standing in for the CloudWatch agent's EMF socket, and an app sending to it."""
    import socket
    import threading

    from app import metrics

    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def accept():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                while chunk := conn.recv(65536):
                    received.append(chunk)

    threading.Thread(target=accept, daemon=True).start()
    port = server.getsockname()[1]
    saved = (metrics._emf_enabled, metrics._emf_sink)
    metrics._emf_sink = None
    app = create_app(app_config(database_url, redis_url, tmp_path, METRICS_EMF=True,
                                METRICS_EMF_ENDPOINT=f"tcp://127.0.0.1:{port}", METRICS_EMF_LOG_GROUP="emf-test"))

    def records(count: int) -> list[dict]:
        import json
        import time

        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            lines = b"".join(received).splitlines()
            if len(lines) >= count:
                return [json.loads(line) for line in lines]
            time.sleep(0.02)
        raise AssertionError(f"expected {count} records, got {b''.join(received)!r}")

    yield app, records
    metrics._emf_sink.close()
    metrics._emf_enabled, metrics._emf_sink = saved
    server.close()


def test_requests_reach_the_agent_as_emf_records(emf_agent):
    """Each application request: Requests, ServerErrors and Latency with no dimension (the 5xx-rate
    and p95-latency alarms); health checks and assets are not counted."""
    app, records = emf_agent
    client = app.test_client()
    assert client.get("/health").status_code == 200
    assert client.get("/api/documents").status_code == 401
    found = records(1)
    assert len(found) == 1, found
    record = found[0]
    directive = record["_aws"]["CloudWatchMetrics"][0]
    assert record["_aws"]["LogGroupName"] == "emf-test"
    assert directive["Namespace"] == "AIPrism" and directive["Dimensions"] == [[]]
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
        "Requests": "Count", "ServerErrors": "Count", "Latency": "Milliseconds"}
    assert record["Requests"] == 1 and record["ServerErrors"] == 0 and record["Latency"] >= 0


def test_a_throttle_is_published_per_model_and_over_all_models(emf_agent):
    from app import metrics

    _app, records = emf_agent
    metrics.observe_model_call("model-b", "analysis", "throttle", 12.0, None, 0)
    throttles = [r for r in records(2) if "ModelThrottles" in r]
    assert len(throttles) == 1
    directive = throttles[0]["_aws"]["CloudWatchMetrics"][0]
    # One record, two series: ModelThrottles{Model=model-b} and ModelThrottles with no dimension.
    assert directive["Dimensions"] == [["Model"], []] and throttles[0]["Model"] == "model-b"


def test_an_unreachable_agent_drops_records_without_failing_requests(database_url, redis_url, tmp_path):
    import socket

    from app import metrics

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    saved = (metrics._emf_enabled, metrics._emf_sink)
    metrics._emf_sink = None
    try:
        app = create_app(app_config(database_url, redis_url, tmp_path, METRICS_EMF=True,
                                    METRICS_EMF_ENDPOINT=f"tcp://127.0.0.1:{port}"))
        assert app.test_client().get("/api/documents").status_code == 401
        assert metrics._emf_sink.dropped == 1
    finally:
        metrics._emf_enabled, metrics._emf_sink = saved
    with pytest.raises(ConfigError, match="METRICS_EMF_ENDPOINT"):
        load_settings({"METRICS_EMF_ENDPOINT": "udp://127.0.0.1:25888"})


@pytest.mark.slow
def test_gunicorn_workers_and_rq_job_processes_add_up(database_url, redis_url, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = process_env(database_url, redis_url, str(tmp_path / "storage"), PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    web = Gunicorn(env, workers=4, log_path=tmp_path / "gunicorn.log")
    try:
        web.wait_ready()
        before = value(requests.get(f"{web.url}/metrics").text, "aiprism_http_requests_total", method="GET", route="/health", status="200")
        for _ in range(200):  # a new connection each time, so the kernel spreads them over the workers
            assert requests.get(f"{web.url}/health").status_code == 200
        # Three jobs run by one RQ job process, writing to the shared folder.
        import redis as redis_lib
        from rq import Queue

        from app.jobs import JOB_KINDS, SERIALIZER

        queue = Queue("maintenance", connection=redis_lib.Redis.from_url(redis_url), serializer=SERIALIZER)
        for n in range(3):
            queue.enqueue(JOB_KINDS["purge_expired_tokens"].func, job_id=f"gunicorn-metrics-{n}")
        subprocess.run([str(BIN / "flask"), "--app", "application", "worker", "--burst", "--processes", "1", "--queues", "maintenance"],
                       cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
        text = requests.get(f"{web.url}/metrics").text
        assert len(web.worker_pids()) == 4
        # Several gevent workers answered; the one that serves the scrape reports all of them.
        assert value(text, "aiprism_http_requests_total", method="GET", route="/health", status="200") - before == 200
        web_pids = set(web.worker_pids()) | {web.proc.pid}
        pids = {int(m.group(1)) for p in metrics_dir.iterdir() if (m := re.search(r"_(\d+)\.db$", p.name))}
        assert len(pids & web_pids) >= 2, pids
        assert value(text, "aiprism_jobs_total", kind="purge_expired_tokens", outcome="completed") == 3
        assert value(text, "aiprism_job_duration_seconds_count", kind="purge_expired_tokens", outcome="completed") == 3
        # One job process ran all three jobs: one set of files, not one per job.
        assert len(pids - web_pids) == 1, pids - web_pids
    finally:
        web.stop()
