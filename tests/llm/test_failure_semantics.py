"""A request fails only for a reason no model can fix: the request is invalid, or every model is
unusable. Everything else is a short retry time. On real Redis, with several processes."""
import subprocess
import sys
import time

import pytest

from app.llm import errors
from app.llm.types import ModelRequest
from tests.llm.conftest import specs

REQUEST = ModelRequest(messages=[{"role": "user", "text": "Review this section."}], max_tokens=100)


def calls(fake, model_id):
    return fake.snapshot().get(model_id, {}).get("calls", 0)


def test_healthy_models_throttled_once_and_unusable_ones_untried_give_a_short_retry(make_chain, fake):
    """The case that failed: the unusable models already known, the healthy ones each throttled once
    in a request, only the unusable ones left untried. The answer is a retry in about the healthy
    models' cooldown, never their probe interval, and never a failure."""
    chain = make_chain(specs(4, cooldown=0.05))
    fake.fault("access_denied", model="model-2")
    fake.fault("end_of_life", model="model-3")
    fake.fault("throttle", model="model-0", count=1)
    fake.fault("throttle", model="model-1", count=1)
    assert chain.complete(REQUEST, max_wait_s=10).model_id in ("model-0", "model-1")  # all four tried, then served
    time.sleep(2.5)  # every cooldown and probe window over: the healthy models are usable again
    assert chain.complete(REQUEST).model_id in ("model-0", "model-1")
    calls_before = {m: calls(fake, m) for m in ("model-2", "model-3")}
    assert all(v == 1 for v in calls_before.values())
    time.sleep(2.5)
    fake.fault("throttle", model="model-0", count=1)
    fake.fault("throttle", model="model-1", count=1)
    with pytest.raises(errors.CapacityExhausted) as info:
        chain.complete(REQUEST, max_wait_s=0)
    assert info.value.retry_after <= 5, info.value.retry_after
    assert {m: calls(fake, m) for m in ("model-2", "model-3")} == calls_before, "the unusable models are not called"
    assert chain.complete(REQUEST, max_wait_s=10).model_id in ("model-0", "model-1")  # waited, then served


def test_a_request_fails_when_every_model_is_unusable_with_one_call_each(make_chain, fake):
    chain = make_chain(specs(3))
    fake.fault("access_denied", model="model-0")
    fake.fault("end_of_life", model="model-1")
    fake.fault("profile_required", model="model-2")
    for _ in range(3):
        with pytest.raises(errors.ModelsUnusable):
            chain.complete(REQUEST)
    assert [calls(fake, f"model-{i}") for i in range(3)] == [1, 1, 1]


def test_plain_5xx_everywhere_give_a_short_retry_not_a_failure(make_chain, fake):
    chain = make_chain(specs(3), breaker_threshold=2, breaker_timeout_s=60)
    chain.complete(REQUEST)
    fake.fault("unavailable")
    for _ in range(3):
        with pytest.raises(errors.CapacityExhausted) as info:
            chain.complete(REQUEST, max_wait_s=0)
        assert info.value.retry_after <= 5, "plain 503s never mean a day's wait"
    fake.clear_faults()
    assert chain.complete(REQUEST, max_wait_s=10).model_id.startswith("model-")


def test_an_invalid_request_fails_at_once(make_chain, fake):
    chain = make_chain(specs(3))
    fake.fault("validation")
    with pytest.raises(errors.RequestInvalid):
        chain.complete(REQUEST)
    assert sum(s["calls"] for s in fake.snapshot().values()) == 1


PROBER = """
import sys, time, redis
from app.llm.bedrock import BedrockProvider
from app.llm.chain import ModelChain
from app.llm.errors import CapacityExhausted, ModelsUnusable
from app.llm.state import ChainState
from app.llm.types import ModelRequest, ModelSpec
chain = ModelChain([ModelSpec(f"model-{{i}}", "m", rpm=600_000) for i in range(3)],
                   ChainState(redis.Redis.from_url("{redis}"), unusable_probe_s={interval}),
                   BedrockProvider("us-east-1", "{url}", 2, 5))
outcomes = {{}}
end = time.time() + {seconds}
while time.time() < end:
    try:
        outcome = chain.complete(ModelRequest(messages=[{{"role": "user", "text": "x"}}], max_tokens=5), max_wait_s=0).model_id
    except CapacityExhausted:
        outcome = "retry"
    except ModelsUnusable:
        outcome = "unusable"
    outcomes[outcome] = outcomes.get(outcome, 0) + 1
    time.sleep(0.01)
print(outcomes)
"""


def test_one_probe_per_unusable_model_per_interval_for_the_whole_deployment(redis_url, fake, aws_env):
    fake.fault("access_denied", model="model-0")
    fake.fault("end_of_life", model="model-1")
    script = PROBER.format(redis=redis_url, url=fake.url, interval=1.0, seconds=3.5)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    for model in ("model-0", "model-1"):
        times = sorted(fake.snapshot()[model]["times"])
        # the first call, then one probe per interval, however many processes ask
        assert 2 <= len(times) <= 1 + (times[-1] - times[0]) / 0.95, (model, len(times))
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert all(g >= 0.95 for g in gaps), gaps
    assert calls(fake, "model-2") > 50  # everyone was served by the usable model meanwhile
    assert all("unusable" not in out for out in outputs)


def test_an_unusable_model_that_recovers_comes_back_after_its_probe(make_chain, fake):
    chain = make_chain(specs(2), unusable_probe_s=0.3)
    fake.fault("access_denied", model="model-0")
    assert chain.complete(REQUEST).model_id == "model-1"
    fake.clear_faults()
    assert chain.complete(REQUEST).model_id == "model-1"  # still out: no call to it
    assert calls(fake, "model-0") == 1
    time.sleep(0.35)
    assert chain.complete(REQUEST).model_id == "model-0"  # the probe: access granted meanwhile
    assert chain.complete(REQUEST).model_id == "model-0"
    (row,) = [m for m in chain.status() if m["id"] == "model-0"]
    assert row["disabled_remaining_s"] == 0 and row["last_probe_at_ms"]


def test_after_an_outage_of_every_model_service_resumes_within_a_recovery_window(make_chain, fake):
    chain = make_chain(specs(2), breaker_threshold=2, breaker_timeout_s=60, probe_window_s=0.5)
    chain.complete(REQUEST)
    fake.fault("unavailable", seconds=2.0)
    started = time.monotonic()
    while time.monotonic() - started < 2.0:  # callers keep coming during the outage: backoffs grow
        try:
            chain.complete(REQUEST, max_wait_s=0)
        except errors.CapacityExhausted as exc:
            assert exc.retry_after <= 60
        time.sleep(0.05)
    during = sum(s["calls"] for s in fake.snapshot().values())
    served = chain.complete(REQUEST, max_wait_s=5)  # a backoff may be long; one recovery probe per window is not
    assert served.model_id.startswith("model-") and time.monotonic() - started < 2.0 + 1.5
    assert during <= 1 + 2 * 2 + 2 * (2.0 / 0.5 + 1) + 2, "at most one recovery probe per model per window"
