"""The chain on real Redis against the fake Bedrock through boto3's real client."""
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from app.extensions import db
from app.llm import errors
from app.llm.records import CallRecorder
from app.llm.state import ChainState
from app.llm.types import ModelRequest, chain_from_settings
from app.models import ModelCall
from tests.llm.conftest import specs

REQUEST = ModelRequest(messages=[{"role": "user", "text": "Review this section."}], system="You are a reviewer.", max_tokens=100)


def calls(fake, model_id):
    return fake.snapshot().get(model_id, {}).get("calls", 0)


def test_primary_answers_and_the_call_is_recorded(make_chain, fake, app):
    recorder = CallRecorder(app.extensions["database"])
    chain = make_chain(recorder=recorder)
    response = chain.complete(REQUEST, context={"purpose": "analysis"})
    chain.flush()
    assert response.model_id == "model-0" and response.text == "Reviewed by model-0."
    assert response.input_tokens > 0 and response.output_tokens > 0 and response.attempts == 1
    with app.app_context():
        (row,) = db.session.scalars(select(ModelCall)).all()
        assert (row.model_id, row.outcome, row.purpose, row.provider) == ("model-0", "success", "analysis", "bedrock")
        assert row.output_tokens == response.output_tokens


def test_a_throttle_slows_and_cools_the_model_for_every_process(make_chain, fake, redis_client):
    chain = make_chain(specs(3, rpm=600, cooldown=2))
    assert chain.complete(REQUEST).model_id == "model-0"  # tested: its single probe succeeded
    time.sleep(0.1)
    fake.fault("throttle", model="model-0", count=1)
    response = chain.complete(REQUEST)
    assert response.model_id == "model-1" and response.attempts == 2
    (primary,) = [m for m in chain.status() if m["id"] == "model-0"]
    # cut multiplicatively; serving for less than the served-rate estimate's 10 s, what it served
    # (one call) says nothing of its limit: cut by the 10% step
    assert 540 <= primary["learned_rpm"] <= 541 and primary["configured_rpm"] == 600
    assert 0 < primary["cooldown_remaining_s"] <= 60 / 540 * 1.25  # one pacing interval at the new rate
    assert primary["last_5_minutes"] == {"calls": 1, "throttles": 1, "errors": 0}
    other_process_chain = make_chain(specs(3, rpm=600, cooldown=2))  # a fresh state object: only Redis is shared
    before = calls(fake, "model-0")
    assert other_process_chain.complete(REQUEST).model_id != "model-0"
    assert calls(fake, "model-0") == before, "no call may go to a model that is cooling down"
    time.sleep(0.25)
    # Past its cooldown the model comes back through one probe; its success reopens it for all.
    assert chain.complete(REQUEST).model_id == "model-0"
    time.sleep(0.2)
    assert other_process_chain.complete(REQUEST).model_id == "model-0"


def test_backoff_doubles_while_a_model_keeps_throttling_and_in_flight_calls_cut_once(redis_client):
    state = ChainState(redis_client)
    spec = specs(1, rpm=60_000, cooldown=10)[0]
    probe = state.acquire([spec], 10)
    assert probe.kind == "probe"  # an untested model takes one probe first
    assert state.acquire([spec], 10).kind == "wait"
    state.report(spec, probe, "success", latency_ms=5)
    time.sleep(0.005)
    first = state.acquire([spec], 10)
    time.sleep(0.005)
    second = state.acquire([spec], 10)
    assert (first.kind, second.kind) == ("call", "call")
    time.sleep(0.005)
    d1 = state.report(spec, first, errors.THROTTLE)
    state.report(spec, second, errors.THROTTLE)  # sent before the cut: no second cut
    row = state.snapshot([spec])[0]
    assert row["learned_rpm"] == 54_000 and row["escalation_level"] == 2  # just tested: the 10% step
    assert 0.05 <= d1 <= 0.0625  # at least 50 ms, or one pacing interval when longer
    time.sleep(0.15)
    third = state.acquire([spec], 10)
    assert third.kind == "probe"  # back from a cooldown through a single probe, not a stampede
    assert state.acquire([spec], 10).kind == "wait"
    d3 = state.report(spec, third, errors.THROTTLE)  # a throttled probe: the model has not freed yet
    assert state.snapshot([spec])[0]["learned_rpm"] == 54_000  # backs off longer, no second cut
    assert d3 >= 0.2  # 50 ms x 2^(3-1): doubled for each throttle in a row


@pytest.mark.parametrize("mode,reason", [("access_denied", errors.ACCESS), ("end_of_life", errors.GONE),
                                         ("profile_required", errors.GONE)])
def test_unusable_models_are_out_for_the_probe_interval(make_chain, fake, mode, reason):
    chain = make_chain()
    fake.fault(mode, model="model-0")
    for _ in range(3):
        assert chain.complete(REQUEST).model_id == "model-1"
    (primary,) = [m for m in chain.status() if m["id"] == "model-0"]
    assert primary["disabled_remaining_s"] >= 3000 and primary["disabled_reason"] == reason
    assert calls(fake, "model-0") == 1


def test_a_daily_quota_cools_for_long(make_chain, fake):
    chain = make_chain()
    fake.fault("daily_quota", model="model-0")
    assert chain.complete(REQUEST).model_id == "model-1"
    (primary,) = [m for m in chain.status() if m["id"] == "model-0"]
    assert primary["cooldown_remaining_s"] >= 3000 and primary["disabled_remaining_s"] == 0


def test_repeated_5xx_back_off_the_model(make_chain, fake):
    chain = make_chain(breaker_threshold=3, breaker_timeout_s=30)
    for _ in range(2):  # model-0 tested first
        chain.complete(REQUEST)
    fake.fault("server_error", model="model-0")
    for _ in range(5):
        assert chain.complete(REQUEST).model_id == "model-1"
    assert calls(fake, "model-0") == 2 + 3
    (primary,) = [m for m in chain.status() if m["id"] == "model-0"]
    assert primary["breaker"] == "open" and primary["cooldown_remaining_s"] > 0


def test_a_request_error_is_not_retried_on_other_models(make_chain, fake):
    chain = make_chain()
    fake.fault("validation")
    with pytest.raises(errors.RequestInvalid):
        chain.complete(REQUEST)
    assert sum(s["calls"] for s in fake.snapshot().values()) == 1


def test_calls_are_paced_evenly_across_processes(redis_url, fake, aws_env):
    script = f"""
import redis
from app.llm.bedrock import BedrockProvider
from app.llm.chain import ModelChain
from app.llm.state import ChainState
from app.llm.types import ModelRequest, ModelSpec
chain = ModelChain([ModelSpec("paced", "P", rpm=600, tpm=10**9)], ChainState(redis.Redis.from_url("{redis_url}")),
                   BedrockProvider("us-east-1", "{fake.url}", 2, 5))
for _ in range(5):
    chain.complete(ModelRequest(messages=[{{"role": "user", "text": "x"}}], max_tokens=5), max_wait_s=20)
"""
    procs = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(4)]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    times = sorted(fake.snapshot()["paced"]["times"])
    assert len(times) == 20
    gaps = [b - a for a, b in zip(times, times[1:])]
    # 600 rpm means one call per 100 ms, never a burst (a few ms of transit jitter on a busy machine)
    assert min(gaps) >= 0.05 and (times[-1] - times[0]) / 19 >= 0.095, gaps


def test_a_cooldown_set_by_one_process_is_seen_by_another_within_50ms(redis_url, redis_client):
    watcher = subprocess.Popen([sys.executable, "-c", f"""
import time, redis
from app.llm.state import ChainState
from app.llm.types import ModelSpec
state = ChainState(redis.Redis.from_url("{redis_url}"))
spec = ModelSpec("watched", "W", cooldown_s=30)
print("ready", flush=True)
while True:
    if state.snapshot([spec])[0]["cooldown_remaining_s"] > 0:
        print(time.time(), flush=True)
        break
"""], stdout=subprocess.PIPE, text=True)
    assert watcher.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    state = ChainState(redis_client)
    spec = specs(1)[0].__class__("watched", "W", rpm=6, cooldown_s=30)
    decision = state.acquire([spec], 1)
    set_at = time.time()
    state.report(spec, decision, errors.THROTTLE)
    seen_at = float(watcher.stdout.readline())
    watcher.wait(timeout=5)
    assert seen_at - set_at < 0.05, f"seen after {(seen_at - set_at) * 1000:.1f} ms"


def test_tokens_are_paced_and_the_unused_part_refunded(redis_client):
    state = ChainState(redis_client)
    spec = specs(1, rpm=100_000, tpm=60_000)[0]  # 1,000 tokens a second
    first = state.acquire([spec], 5_000)
    assert first.kind == "probe"
    state.report(spec, first, "success", 5_000)
    second = state.acquire([spec], 5_000)  # five seconds of tokens are spoken for
    assert second.kind == "wait" and 3.5 <= second.retry_after <= 4.1


def test_unused_tokens_come_back(redis_client):
    state = ChainState(redis_client)
    spec = specs(1, rpm=100_000, tpm=60_000)[0]
    first = state.acquire([spec], 5_000)
    state.report(spec, first, "success", 100)  # used 100 of the 5,000 reserved
    time.sleep(0.01)
    assert state.acquire([spec], 500).kind == "call"


def test_stream_falls_back_only_before_the_first_token(make_chain, fake):
    chain = make_chain()
    fake.fault("mid_stream", model="model-0", after_chunks=0, count=1)
    items = list(chain.stream(REQUEST))
    assert "".join(i for i in items if isinstance(i, str)) == "Reviewed by model-1."
    assert items[-1].model_id == "model-1"

    fake.fault("mid_stream", model="model-2", after_chunks=2, count=1)
    received = []
    with pytest.raises(errors.StreamInterrupted) as info:
        for item in make_chain(specs(3)[2:]).stream(REQUEST):
            received.append(item)
    assert info.value.partial == "".join(received) and received


def test_thinking_and_cache_points_are_sent_where_supported(fake, aws_env, redis_client):
    from app.llm.bedrock import BedrockProvider
    from app.llm.chain import ModelChain

    provider = BedrockProvider("us-east-1", fake.url, 2, 5, enable_thinking=True)
    chain = ModelChain(specs(1, caching=True, thinking=True), ChainState(redis_client), provider)
    request = ModelRequest(messages=[{"role": "user", "text": "doc", "cache": True}], system="checklist",
                           max_tokens=4096, temperature=0.2, thinking_budget=2048)
    first = chain.complete(request)
    second = chain.complete(request)
    _, _, body = fake.requests[-1]
    assert body["system"][1] == {"cachePoint": {"type": "default"}}
    assert body["messages"][0]["content"][1] == {"cachePoint": {"type": "default"}}
    assert body["additionalModelRequestFields"]["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert "temperature" not in body["inferenceConfig"] and body["inferenceConfig"]["maxTokens"] == 4096
    assert first.cache_write_tokens > 0 and second.cache_read_tokens > 0

    plain = ModelChain(specs(1), ChainState(redis_client), BedrockProvider("us-east-1", fake.url, 2, 5))
    plain.complete(request)
    _, _, body = fake.requests[-1]
    assert len(body["system"]) == 1 and "additionalModelRequestFields" not in body
    assert body["inferenceConfig"]["temperature"] == 0.2


def test_chain_settings():
    default = chain_from_settings(None, None, 200, 200_000, True)
    assert [s.id for s in default][0] == "us.anthropic.claude-sonnet-4-5-20250929-v1:0" and len(default) == 7
    assert [s.cooldown_s for s in default] == [5, 10, 15, 20, 25, 30, 35]
    assert len(chain_from_settings(None, None, 200, 200_000, False)) == 1
    moved = chain_from_settings(None, "us.anthropic.claude-haiku-4-5-20251001-v1:0", 200, 200_000, True)
    assert moved[0].label == "Haiku 4.5"
    custom = chain_from_settings('[{"id": "a", "rpm": 5}, {"id": "b", "label": "B", "cooldown_s": 2, "thinking": true}]', None, 200, 1000, True)
    assert [(s.id, s.rpm, s.cooldown_s, s.thinking) for s in custom] == [("a", 5, 5.0, False), ("b", 200, 2.0, True)]
    with pytest.raises(ValueError):
        chain_from_settings("not json", None, 200, 1, True)


def test_admin_models_shows_state_and_resets(app, make_user, fake):
    from tests.conftest import csrf_token, login

    make_user("boss@example.com", role="admin")
    make_user("ann@example.com")
    boss, ann = app.test_client(), app.test_client()
    login(boss, "boss@example.com")
    login(ann, "ann@example.com")
    chain = app.extensions["model_chain"]
    spec = chain.specs[0]
    probe = chain.state.acquire(chain.specs, 5)
    chain.state.report(spec, probe, "success")
    time.sleep(0.01)
    decision = chain.state.acquire(chain.specs, 5)
    chain.state.report(spec, decision, errors.THROTTLE)
    body = boss.get("/api/admin/models").get_json()
    assert body["provider"] == "offline"
    (model,) = body["models"]
    assert model["learned_rpm"] < model["configured_rpm"] and model["last_5_minutes"]["throttles"] == 1
    assert model["last_probe_at_ms"] > 0 and model["learned_concurrency"] >= 1
    assert ann.get("/api/admin/models").status_code == 403
    reset = boss.post("/api/admin/models/reset", headers={"X-CSRFToken": csrf_token(boss)})
    assert reset.status_code == 200 and reset.get_json()["models"][0]["learned_rpm"] == model["configured_rpm"]


def test_a_throttle_after_ten_seconds_of_serving_cuts_to_what_was_served(redis_client):
    # the served-rate estimate's time constant shortened to 0.2 s, so "serving long enough" is quick
    state = ChainState(redis_client, served_window_s=0.2)
    spec = specs(1, rpm=60_000, cooldown=10)[0]
    probe = state.acquire([spec], 10)
    state.report(spec, probe, "success", latency_ms=5)
    time.sleep(0.3)
    call = state.acquire([spec], 10)
    assert call.kind == "call"
    state.report(spec, call, errors.THROTTLE)
    assert state.snapshot([spec])[0]["learned_rpm"] == 42_000  # what it served is far below: by 30% at most


def test_a_model_backing_off_after_5xx_gets_one_early_call_per_window_even_while_others_are_only_paced(redis_client):
    """Once its failures stop, a model must not stay out for its whole backoff while callers wait for
    the healthy ones' pacing: one caller per recovery window tries it (an outage's end is seen on every
    model within that window), and that call is paced like any other."""
    state = ChainState(redis_client, breaker_threshold=1, breaker_timeout_s=30, probe_window_s=1.0)
    failing, paced = specs(2, rpm=60, cooldown=10)  # one call a second each
    for spec in (failing, paced):
        first = state.acquire([spec], 10)
        state.report(spec, first, "success", latency_ms=5)
    time.sleep(1.05)
    broken = state.acquire([failing], 10)
    assert broken.kind == "call"
    assert state.report(failing, broken, errors.FAILURE) >= 1.0  # backs off (the breaker, threshold 1)
    taken = state.acquire([paced], 10)
    assert taken.kind == "call"  # the healthy model's next slot is a second away now
    early = state.acquire([failing, paced], 10)
    assert (early.kind, early.index) == ("probe", 0), "the backing-off model is tried early, once"
    assert state.acquire([failing, paced], 10).kind == "wait"  # one per window: no second early call
    state.report(failing, early, "success", latency_ms=5)
    row = state.snapshot([failing])[0]
    assert row["cooldown_remaining_s"] == 0 and row["breaker"] == "closed"
    after = state.acquire([failing], 10)
    # paced: the failed call and the early one each took an interval (a second) from now
    assert after.kind == "wait" and 1.5 < after.retry_after <= 2.0, after.retry_after


def test_the_call_recorder_counts_the_rows_it_cannot_keep():
    import threading

    release = threading.Event()

    class StalledDatabase:  # the database stalls: rows wait in the recorder's bounded queue
        def begin(self):
            release.wait(10)
            raise RuntimeError("database gone")

    recorder = CallRecorder(StalledDatabase(), max_queued=2)
    row = dict(provider="bedrock", model_id="m", outcome="success", context={}, attempt=1, latency_ms=1)
    recorder.record(**row)
    time.sleep(0.2)  # the writer took the first row and is stuck writing it
    for _ in range(3):
        recorder.record(**row)
    assert recorder.lost == 1, "the row past the queue's bound is counted as lost"
    release.set()
    recorder.flush()
    assert recorder.lost == 4, "rows the database refused are counted too"
