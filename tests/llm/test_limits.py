"""Learned limits and the deployment-wide semaphore, on real Redis with several processes."""
import os
import signal
import subprocess
import sys
import time

from app.llm.state import ChainState
from tests.fakes.limits import TokenBucket
from tests.llm.conftest import specs

DRIVER = """
import time, redis
from app.llm.bedrock import BedrockProvider
from app.llm.chain import ModelChain
from app.llm.errors import CapacityExhausted
from app.llm.state import ChainState
from app.llm.types import ModelRequest, ModelSpec
from concurrent.futures import ThreadPoolExecutor
chain = ModelChain([ModelSpec("half", "H", rpm={rpm}, tpm=10**9, cooldown_s=2), ModelSpec("spare", "S", rpm=10**6, tpm=10**9)],
                   ChainState(redis.Redis.from_url("{redis}")), BedrockProvider("us-east-1", "{url}", 2, 5))
end = time.time() + {seconds}
def loop(_):
    while time.time() < end:
        try:
            chain.complete(ModelRequest(messages=[{{"role": "user", "text": "x"}}], max_tokens=5), max_wait_s=1)
        except CapacityExhausted:
            pass
        time.sleep(0.02)
with ThreadPoolExecutor(2) as pool:
    list(pool.map(loop, range(2)))
"""


def test_aimd_converges_on_half_the_configured_rate_within_30s(redis_url, redis_client, fake, aws_env):
    configured = 240  # per minute: 4 a second; the fake really allows 2 a second
    fake.limiters["half"] = TokenBucket(rate_per_s=2, capacity=2)
    fake.configure("half", latency_s=0.05)
    fake.configure("spare", latency_s=0.05)
    script = DRIVER.format(rpm=configured, redis=redis_url, url=fake.url, seconds=24)
    started = time.time()
    procs = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(3)]
    assert all(p.wait(timeout=90) == 0 for p in procs)
    state = ChainState(redis_client)
    (row,) = state.snapshot(specs(1)[:0] + [type(specs(1)[0])("half", "H", rpm=configured, tpm=10**9)])
    assert 0.5 * 120 <= row["learned_rpm"] <= 1.15 * 120, row
    log = [e for e in fake.log if e[1] == "half" and e[0] > started + 12]
    ok = sum(1 for e in log if e[2] == "ok")
    throttled = sum(1 for e in log if e[2] == "throttle")
    assert throttled / max(1, ok) <= 0.1, (ok, throttled)
    assert ok >= 0.7 * 2 * (log[-1][0] - log[0][0]), "the model is still used near its real rate"


HOLDER = """
import time, redis
from app.llm.state import ChainState
from app.llm.types import ModelSpec
state = ChainState(redis.Redis.from_url("{redis}"), max_concurrency=3, lease_s={lease})
spec = ModelSpec("held", "H", rpm=10**6, tpm=10**9)
got = 0
while got < 2:
    decision = state.acquire([spec], 1)
    if decision.kind in ("call", "probe"):
        got += 1
        if decision.kind == "probe":
            state.report(spec, decision, "success")
            got -= 1
print("holding", flush=True)
time.sleep(60)
"""


def test_a_killed_process_frees_its_concurrency_slots_within_the_lease(redis_url, redis_client):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER.format(redis=redis_url, lease=1.5)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    state = ChainState(redis_client, max_concurrency=3, lease_s=1.5)
    spec = type(specs(1)[0])("held", "H", rpm=10**6, tpm=10**9)
    assert state.in_flight() == 2
    mine = state.acquire([spec], 1)
    assert mine.kind == "call"
    full = state.acquire([spec], 1)
    assert full.kind == "wait", "MAX_CONCURRENT_REQUESTS holds across processes"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    killed_at = time.monotonic()
    while state.acquire([spec], 1).kind == "wait":
        assert time.monotonic() - killed_at < 2.0, "the killed process's slots came back within the lease"
        time.sleep(0.05)
    state.report(spec, mine, "success")


def test_slots_are_freed_when_calls_end(redis_client):
    state = ChainState(redis_client, max_concurrency=2)
    spec = specs(1)[0]
    probe = state.acquire([spec], 1)
    state.report(spec, probe, "success")
    a, b = state.acquire([spec], 1), state.acquire([spec], 1)
    assert (a.kind, b.kind) == ("call", "call") and state.acquire([spec], 1).kind == "wait"
    state.report(spec, a, "throttle")
    assert state.in_flight() == 1
    state.report(spec, b, "release")
    assert state.in_flight() == 0
