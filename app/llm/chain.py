"""The model chain: each attempt asks the shared state which model may take the call now, calls it,
and reports the outcome, so what one process learns (a throttle, a lower limit, a broken model) holds
for every process.

Failure semantics: a request fails only for a reason no model can fix: the model calls the request
invalid (RequestInvalid), or every model is unusable (ModelsUnusable). Throttles, 5xx errors and
timeouts only make the chain wait for, or move to, another model; when nothing can take the call
within the caller's wait budget, CapacityExhausted carries the soonest moment a usable model frees.
A throttle is never followed by an immediate retry of the same model: the state cools and paces it.
"""
from __future__ import annotations

import atexit
import logging
import random
import time
from collections.abc import Iterator

from app.metrics import observe_fallback, observe_model_call

from .errors import INVALID, CapacityExhausted, ModelCallError, ModelsUnusable, StreamInterrupted
from .records import CallRecorder
from .state import ChainState, Decision
from .types import ModelRequest, ModelResponse, ModelSpec

log = logging.getLogger(__name__)
USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


class ModelChain:
    def __init__(self, specs: list[ModelSpec], state: ChainState, provider, recorder: CallRecorder | None = None):
        self.specs = list(specs)
        self.state = state
        self.provider = provider
        self.recorder = recorder
        # Registered after the state's and the recorder's own: runs before them at exit, in order.
        atexit.register(self.flush)

    def flush(self) -> None:
        """Wait until this process's reported outcomes are in Redis and their call records written."""
        self.state.flush()
        if self.recorder is not None:
            self.recorder.flush()

    @property
    def primary(self) -> ModelSpec:
        return self.specs[0]

    def _acquire(self, request: ModelRequest, deadline: float, overhead: list[float], failed: set[str]) -> tuple[ModelSpec, Decision]:
        cost = request.estimate_input_tokens() + request.max_tokens
        # Every model stays a candidate (the state knows which are cooling); the ones that already
        # failed this request are asked last.
        candidates = [s for s in self.specs if s.id not in failed] + [s for s in self.specs if s.id in failed]
        while True:
            started = time.perf_counter()
            decision = self.state.acquire(candidates, cost)
            if decision.kind != "wait":  # a decision that says "wait" is part of the waiting
                overhead[0] += time.perf_counter() - started
            if decision.kind in ("call", "probe"):
                return candidates[decision.index], decision
            if decision.kind == "unusable":
                raise ModelsUnusable()
            remaining = deadline - time.monotonic()
            if decision.retry_after > remaining:
                raise CapacityExhausted(decision.retry_after)
            # Wait a little past the moment a slot frees, spread so waiters do not stampede.
            time.sleep(decision.retry_after + random.uniform(0.0, min(0.02, decision.retry_after)))

    def _report(self, spec, decision, outcome, attempt, latency_ms, context, overhead, usage=None, code=None):
        """A plain call's success is reported off the call's path: nothing the caller does next
        depends on it. A failure is reported on it, so that the next attempt sees the model cooling,
        and so is a probe's success, which callers waiting for the model's slow start depend on.
        Metrics and the call's record follow the report either way."""
        started = time.perf_counter()
        actual = None
        if usage is not None:
            actual = usage["input_tokens"] + usage["output_tokens"] + usage["cache_write_tokens"]
        elif outcome != "success":
            actual = 0  # a refused call used no tokens

        def follow_up(cooldown_s: float) -> None:
            observe_model_call(spec.id, context.get("purpose", "other"), outcome, latency_ms, usage, cooldown_s)
            if self.recorder is not None:
                try:
                    self.recorder.record(provider=getattr(self.provider, "name", "bedrock"), model_id=spec.id, outcome=outcome,
                                         context=context, attempt=attempt, latency_ms=latency_ms, error_code=code, usage=usage)
                except Exception:  # a lost record must not fail the call it describes
                    log.exception("could not record model call")

        if outcome == "success" and decision.kind == "call":
            self.state.report_later(spec, decision, outcome, actual, latency_ms, then=follow_up)
        else:
            follow_up(self.state.report(spec, decision, outcome, actual, latency_ms))
        overhead[0] += time.perf_counter() - started

    def _max_attempts(self) -> int:
        return 2 * len(self.specs) + 2

    def _exhausted(self, last_error: ModelCallError | None) -> CapacityExhausted:
        """Too many failed calls for one request: come back when the first usable model frees."""
        retry = max(1.0, self.state.soonest(self.specs))
        return CapacityExhausted(retry, f"No model answered after {self._max_attempts()} attempts (last: {last_error}); "
                                        f"trying again in {retry:.0f} s.")

    def complete(self, request: ModelRequest, *, context: dict | None = None, max_wait_s: float = 30.0) -> ModelResponse:
        context = context or {}
        deadline = time.monotonic() + max_wait_s
        overhead = [0.0]
        failed: set[str] = set()
        last_error: ModelCallError | None = None
        first_model = None
        for attempt in range(1, self._max_attempts() + 1):
            spec, decision = self._acquire(request, deadline, overhead, failed)
            first_model = first_model or spec.id
            started = time.monotonic()
            try:
                response = self.provider.complete(spec, request)
            except ModelCallError as error:
                latency = int((time.monotonic() - started) * 1000)
                self._report(spec, decision, error.kind, attempt, latency, context, overhead, code=error.code)
                if error.kind == INVALID:
                    raise
                last_error = error
                failed.add(spec.id)
                log.info("model call failed", extra={"model": spec.id, "kind": error.kind, "code": error.code})
                continue
            except BaseException:
                self.state.report(spec, decision, "release")
                raise
            usage = {k: getattr(response, k) for k in USAGE_FIELDS}
            self._report(spec, decision, "success", attempt, response.latency_ms, context, overhead, usage=usage)
            if spec.id != first_model:
                observe_fallback(first_model, spec.id)
            response.attempts = attempt
            response.overhead_ms = overhead[0] * 1000
            return response
        raise self._exhausted(last_error)

    def stream(self, request: ModelRequest, *, context: dict | None = None, max_wait_s: float = 10.0) -> Iterator[str | ModelResponse]:
        """Text deltas, then the final ModelResponse. Falls back to another model only until the first
        delta has been yielded; after that a failure raises StreamInterrupted with the partial text."""
        context = context or {}
        deadline = time.monotonic() + max_wait_s
        overhead = [0.0]
        last_error: ModelCallError | None = None
        failed: set[str] = set()
        first_model = None
        for attempt in range(1, self._max_attempts() + 1):
            spec, decision = self._acquire(request, deadline, overhead, failed)
            first_model = first_model or spec.id
            started = time.monotonic()
            sent: list[str] = []
            reported = False
            try:
                for item in self.provider.stream(spec, request):
                    if isinstance(item, ModelResponse):
                        usage = {k: getattr(item, k) for k in USAGE_FIELDS}
                        reported = True
                        self._report(spec, decision, "success", attempt, item.latency_ms, context, overhead, usage=usage)
                        if spec.id != first_model:
                            observe_fallback(first_model, spec.id)
                        item.attempts, item.overhead_ms = attempt, overhead[0] * 1000
                        yield item
                        return
                    sent.append(item)
                    yield item
            except ModelCallError as error:
                latency = int((time.monotonic() - started) * 1000)
                reported = True
                self._report(spec, decision, error.kind, attempt, latency, context, overhead, code=error.code)
                if sent:
                    raise StreamInterrupted("".join(sent), error) from error
                if error.kind == INVALID:
                    raise
                last_error = error
                failed.add(spec.id)
                continue
            finally:
                if not reported:  # abandoned by the reader (or an unexpected error): free the slots
                    self.state.report(spec, decision, "release")
        raise self._exhausted(last_error)

    def status(self) -> list[dict]:
        rows = self.state.snapshot(self.specs)
        recent = self.state.recent(self.specs)
        for row in rows:
            row["last_5_minutes"] = recent.get(row["id"], {})
        return rows

    def reset(self) -> None:
        self.state.reset(self.specs)


def build_chain(app) -> ModelChain:
    """The app's chain from its settings: Bedrock models, or the offline reviewer."""
    from .bedrock import BedrockProvider
    from .offline import OFFLINE_SPEC, OfflineProvider
    from .types import chain_from_settings

    config = app.config
    state = ChainState(app.extensions["redis"], breaker_threshold=config["CIRCUIT_BREAKER_FAILURE_THRESHOLD"],
                       breaker_timeout_s=config["CIRCUIT_BREAKER_TIMEOUT"], max_concurrency=config["MAX_CONCURRENT_REQUESTS"],
                       lease_s=config["BEDROCK_CONNECT_TIMEOUT"] + config["BEDROCK_READ_TIMEOUT"] + 5,
                       unusable_probe_s=config["MODEL_UNUSABLE_PROBE_INTERVAL"])
    recorder = CallRecorder(app.extensions["database"])
    if config["MODEL_PROVIDER"] == "offline":
        return ModelChain([OFFLINE_SPEC], state, OfflineProvider(), recorder)
    specs = chain_from_settings(
        config["BEDROCK_MODEL_CHAIN"], config["BEDROCK_MODEL_ID"], config["MAX_REQUESTS_PER_MINUTE"],
        config["MAX_TOKENS_PER_MINUTE"], config["ENABLE_MULTI_MODEL_FALLBACK"],
    )
    provider = BedrockProvider(
        config["BEDROCK_REGION"], config["BEDROCK_ENDPOINT_URL"], config["BEDROCK_CONNECT_TIMEOUT"],
        config["BEDROCK_READ_TIMEOUT"], config["ENABLE_EXTENDED_THINKING"], config["MAX_CONCURRENT_REQUESTS"] + 10,
    )
    return ModelChain(specs, state, provider, recorder)
