"""Hypothesis: whatever the order of grants and outcomes, the shared state keeps its invariants (on
real Redis): learned limits stay within bounds, the semaphore never holds more than its limit, every
slot granted is freed by its outcome, an unusable model is never granted while out."""
import redis as redis_lib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.llm.state import ChainState
from app.llm.types import ModelSpec

OUTCOMES = st.sampled_from(["success", "throttle", "failure", "access", "invalid", "release"])
STEPS = st.lists(st.one_of(st.tuples(st.just("acquire"), st.integers(1, 5000)),
                           st.tuples(st.just("report"), OUTCOMES)), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_state_invariants_hold_for_any_sequence(redis_url, steps):
    client = redis_lib.Redis.from_url(redis_url)
    client.flushdb()
    specs = [ModelSpec("a", "A", rpm=6000, tpm=6_000_000, cooldown_s=0.05), ModelSpec("b", "B", rpm=3000, tpm=3_000_000, cooldown_s=0.05)]
    state = ChainState(client, max_concurrency=3, unusable_probe_s=3600)
    granted = []
    for action, value in steps:
        if action == "acquire":
            decision = state.acquire(specs, value)
            if decision.kind in ("call", "probe"):
                spec = specs[decision.index]
                row = state.snapshot([spec])[0]
                assert row["disabled_remaining_s"] == 0, "an unusable model is never granted while out"
                granted.append((spec, decision))
            assert state.in_flight() == len(granted) <= 3
        elif granted:
            spec, decision = granted.pop(0)
            state.report(spec, decision, value, decision.cost // 2)
            assert state.in_flight() == len(granted)
        for row in state.snapshot(specs):
            assert row["configured_rpm"] / 200 <= row["learned_rpm"] <= row["configured_rpm"]
            assert 1 <= row["learned_concurrency"] <= row["configured_concurrency"]
            assert row["in_flight"] <= row["configured_concurrency"]
    client.flushdb()
