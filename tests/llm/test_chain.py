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
    recorder.flush()
    assert response.model_id == "model-0" and response.text == "Reviewed by model-0."
    assert response.input_tokens > 0 and response.output_tokens > 0 and response.attempts == 1
    with app.app_context():
        (row,) = db.session.scalars(select(ModelCall)).all()
        assert (row.model_id, row.outcome, row.purpose, row.provider) == ("model-0", "success", "analysis", "bedrock")
        assert row.output_tokens == response.output_tokens


def test_a_throttle_cools_the_model_for_every_process(make_chain, fake, redis_client):
    chain = make_chain(probe_window_s=0.3)
    fake.fault("throttle", model="model-0", count=1)
    response = chain.complete(REQUEST)
    assert response.model_id == "model-1" and response.attempts == 2
    other_process_chain = make_chain(probe_window_s=0.3)  # a fresh state object: only Redis is shared
    before = calls(fake, "model-0")
    for _ in range(5):
        assert other_process_chain.complete(REQUEST).model_id == "model-1"
    assert calls(fake, "model-0") == before, "no call may go to a model that is cooling down"
    (primary,) = [m for m in chain.status() if m["id"] == "model-0"]
    assert 0 < primary["cooldown_remaining_s"] <= 0.5 * 1.25
    assert primary["last_5_minutes"] == {"calls": 0, "throttles": 1, "errors": 0}
    time.sleep(0.7)
    # Past its cooldown the model comes back through one probe; its success reopens it for all.
    assert chain.complete(REQUEST).model_id == "model-0"
    assert other_process_chain.complete(REQUEST).model_id == "model-0"


def test_cooldown_escalates_once_per_episode_and_is_never_shortened(redis_client):
    state = ChainState(redis_client, probe_window_s=0.1)
    spec = specs(1, cooldown=1.0)[0]
    first = state.acquire([spec], 10)
    second = state.acquire([spec], 10)
    d1 = state.report(spec, first, errors.THROTTLE)
    d2 = state.report(spec, second, errors.THROTTLE)  # in flight during the same episode
    assert 1.0 <= d1 <= 1.25 and d2 <= d1
    assert state.snapshot([spec])[0]["escalation_level"] == 0
    time.sleep(d1 + 0.05)
    third = state.acquire([spec], 10)
    assert third.kind == "probe"  # back from a cooldown through a single probe, not a stampede
    assert state.acquire([spec], 10).kind == "wait"
    d3 = state.report(spec, third, errors.THROTTLE)  # a new episode soon after: escalates once
    assert 2.0 <= d3 <= 2.5
    assert state.snapshot([spec])[0]["escalation_level"] == 1
    time.sleep(0.15)
    probe = state.acquire([spec], 10)  # the only model cools: after a probe window one caller may probe it
    assert probe.kind == "probe"
    waiting = state.acquire([spec], 10)
    assert waiting.kind == "wait" and waiting.retry_after <= 0.1


@pytest.mark.parametrize("mode,reason,at_least_s", [
    ("daily_quota", errors.QUOTA, 3000), ("access_denied", errors.ACCESS, 3000),
    ("end_of_life", errors.GONE, 80000), ("profile_required", errors.GONE, 80000),
])
def test_long_cooldowns(make_chain, fake, mode, reason, at_least_s):
    chain = make_chain()
    fake.fault(mode, model="model-0")
    assert chain.complete(REQUEST).model_id == "model-1"
    (primary,) = [m for m in chain.status() if m["id"] == "model-0"]
    assert primary["disabled_remaining_s"] >= at_least_s and primary["disabled_reason"] == reason
    assert calls(fake, "model-0") == 1


def test_circuit_breaker_opens_after_repeated_5xx(make_chain, fake):
    chain = make_chain(breaker_threshold=3, breaker_timeout_s=30)
    fake.fault("server_error", model="model-0")
    for _ in range(5):
        assert chain.complete(REQUEST).model_id == "model-1"
    assert calls(fake, "model-0") == 3
    (primary,) = [m for m in chain.status() if m["id"] == "model-0"]
    assert primary["breaker"] == "open"


def test_a_request_error_is_not_retried_on_other_models(make_chain, fake):
    chain = make_chain()
    fake.fault("validation")
    with pytest.raises(errors.RequestInvalid):
        chain.complete(REQUEST)
    assert sum(s["calls"] for s in fake.snapshot().values()) == 1


def test_when_every_model_cools_one_caller_probes_and_the_rest_hear_at_once(make_chain, fake):
    chain = make_chain(specs(2, cooldown=5), probe_window_s=0.5)
    fake.fault("throttle")
    with pytest.raises(errors.CapacityExhausted) as info:
        chain.complete(REQUEST, max_wait_s=0)
    assert 0.4 <= info.value.retry_after <= 1.0 or info.value.retry_after == 1.0  # the next probe slot
    total = sum(s["calls"] for s in fake.snapshot().values())
    assert total == 2  # each model tried once, then both cooling: no immediate re-probe
    fake.clear_faults()
    time.sleep(0.55)
    probe = chain.complete(REQUEST, max_wait_s=0)  # this caller gets the probe slot
    assert probe.model_id == "model-0"
    after = chain.complete(REQUEST, max_wait_s=0)  # the probe's success reopened the model
    assert after.model_id == "model-0"


def test_probe_slots_allow_one_probe_per_model_per_window(make_chain, fake):
    chain = make_chain(specs(2, cooldown=20), probe_window_s=0.5)
    fake.fault("throttle")
    with pytest.raises(errors.CapacityExhausted):
        chain.complete(REQUEST, max_wait_s=0)
    time.sleep(0.55)
    results = []
    for _ in range(6):
        started = time.monotonic()
        try:
            chain.complete(REQUEST, max_wait_s=0)
        except errors.CapacityExhausted as exc:
            results.append(exc.retry_after)
        assert time.monotonic() - started < 0.5, "callers must not hang while every model cools"
    probes = sum(s["calls"] for s in fake.snapshot().values()) - 2
    assert probes == 2  # one per model within the probe window, then everyone waits
    assert len(results) == 6 and all(r <= 1.0 for r in results)


def test_rpm_is_never_exceeded_across_processes(redis_url, fake, aws_env):
    script = f"""
import sys, redis
from app.llm.bedrock import BedrockProvider
from app.llm.chain import ModelChain
from app.llm.errors import CapacityExhausted
from app.llm.state import ChainState
from app.llm.types import ModelRequest, ModelSpec
chain = ModelChain([ModelSpec("limited", "L", rpm=12, tpm=10**9)], ChainState(redis.Redis.from_url("{redis_url}")),
                   BedrockProvider("us-east-1", "{fake.url}", 2, 5))
ok = 0
for _ in range(10):
    try:
        chain.complete(ModelRequest(messages=[{{"role": "user", "text": "x"}}], max_tokens=5), max_wait_s=0)
        ok += 1
    except CapacityExhausted:
        pass
print(ok)
"""
    fake.configure("limited", rpm=12)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    successes = sum(int(p.communicate(timeout=60)[0].strip()) for p in procs)
    stats = fake.snapshot()["limited"]
    assert successes == 12
    assert stats["calls"] == 12 and stats["errors"] == {}


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
    spec = specs(1)[0].__class__("watched", "W", cooldown_s=30)
    decision = state.acquire([spec], 1)
    set_at = time.time()
    state.report(spec, decision, errors.THROTTLE)
    seen_at = float(watcher.stdout.readline())
    watcher.wait(timeout=5)
    assert seen_at - set_at < 0.05, f"seen after {(seen_at - set_at) * 1000:.1f} ms"


def test_tokens_are_reserved_then_refunded(redis_client, make_chain):
    chain = make_chain(specs(1, tpm=100_000))
    request = ModelRequest(messages=[{"role": "user", "text": "x" * 400}], max_tokens=5000)
    chain.complete(request)
    (row,) = chain.status()
    assert 0 < row["tpm_used"] < 1000, "the unused part of max_tokens is given back"


def test_stream_falls_back_only_before_the_first_token(make_chain, fake):
    chain = make_chain()
    fake.fault("mid_stream", model="model-0", after_chunks=0, count=1)
    items = list(chain.stream(REQUEST))
    assert "".join(i for i in items if isinstance(i, str)) == "Reviewed by model-1."
    assert items[-1].model_id == "model-1"

    fake.fault("mid_stream", model="model-0", after_chunks=2, count=1)
    time.sleep(0.6 * 1.25 + 0.1)  # model-0's cooldown from the first failure is over or not relevant
    received = []
    with pytest.raises(errors.StreamInterrupted) as info:
        for item in make_chain(specs(1)).stream(REQUEST):
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
    decision = chain.state.acquire(chain.specs, 5)
    chain.state.report(spec, decision, errors.THROTTLE)
    body = boss.get("/api/admin/models").get_json()
    assert body["provider"] == "offline"
    (model,) = body["models"]
    assert model["cooldown_remaining_s"] > 0 and model["rpm_used"] == 1 and "last_5_minutes" in model
    assert ann.get("/api/admin/models").status_code == 403
    reset = boss.post("/api/admin/models/reset", headers={"X-CSRFToken": csrf_token(boss)})
    assert reset.status_code == 200 and reset.get_json()["models"][0]["cooldown_remaining_s"] == 0
