"""Throttle shapes for the fake Bedrock: how a real service's limits may look from outside. Each one
decides per call whether it is admitted, throttled, or answered with a fault; every limit and timing is
a parameter. Plug one in with ``fake.limiters[model_id] = shape`` (or ``"*"`` for every model), or
over HTTP: POST /_fake/limits {"model": id, "shape": "token_bucket", ...}.

- TokenBucket(rate_per_s, capacity): refills continuously; capacity=rate_per_s is one second's worth.
- FixedWindow(limit, window_s): at most ``limit`` calls per window aligned to the clock.
- SlidingWindow(limit, window_s): at most ``limit`` calls in any ``window_s``.
- Concurrency(limit): a 429 beyond ``limit`` calls in flight.
- RandomFaults(probability, modes, hang_s, seed): 5xx/timeouts on a share of calls.
- Combined(*shapes): the first refusal wins.
"""
from __future__ import annotations

import random
import threading
import time
from collections import deque

ADMIT = None
THROTTLE = "throttle"


class Shape:
    def enter(self, now: float) -> str | None:
        """None to admit the call, else the fault mode to answer with ("throttle", "unavailable", ...)."""
        return ADMIT

    def leave(self) -> None:
        """An admitted call has been answered."""


class TokenBucket(Shape):
    def __init__(self, rate_per_s: float, capacity: float | None = None):
        self.rate, self.capacity = rate_per_s, capacity if capacity is not None else rate_per_s
        self.tokens, self.at = self.capacity, None

    def enter(self, now):
        if self.at is not None:
            self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return ADMIT
        return THROTTLE


class FixedWindow(Shape):
    def __init__(self, limit: int, window_s: float = 60.0):
        self.limit, self.window = limit, window_s
        self.current, self.count = None, 0

    def enter(self, now):
        window = int(time.time() // self.window)
        if window != self.current:
            self.current, self.count = window, 0
        if self.count < self.limit:
            self.count += 1
            return ADMIT
        return THROTTLE


class SlidingWindow(Shape):
    def __init__(self, limit: int, window_s: float = 60.0):
        self.limit, self.window = limit, window_s
        self.times: deque = deque()

    def enter(self, now):
        while self.times and self.times[0] <= now - self.window:
            self.times.popleft()
        if len(self.times) < self.limit:
            self.times.append(now)
            return ADMIT
        return THROTTLE


class Concurrency(Shape):
    def __init__(self, limit: int):
        self.limit, self.in_flight = limit, 0
        self._lock = threading.Lock()

    def enter(self, now):
        with self._lock:
            if self.in_flight < self.limit:
                self.in_flight += 1
                return ADMIT
        return THROTTLE

    def leave(self):
        with self._lock:
            self.in_flight -= 1


class RandomFaults(Shape):
    def __init__(self, probability: float = 0.05, modes: tuple = ("unavailable", "timeout"), hang_s: float = 1.0, seed: int = 7):
        self.probability, self.modes, self.hang_s = probability, tuple(modes), hang_s
        self.rng = random.Random(seed)

    def enter(self, now):
        if self.rng.random() < self.probability:
            return self.rng.choice(self.modes)
        return ADMIT


class Combined(Shape):
    def __init__(self, *shapes: Shape):
        self.shapes = shapes
        self.hang_s = max((getattr(s, "hang_s", 0) for s in shapes), default=0)

    def enter(self, now):
        entered = []
        for shape in self.shapes:
            verdict = shape.enter(now)
            if verdict is not ADMIT:
                for done in entered:
                    done.leave()
                return verdict
            entered.append(shape)
        return ADMIT

    def leave(self):
        for shape in self.shapes:
            shape.leave()


SHAPES = {"token_bucket": TokenBucket, "fixed_window": FixedWindow, "sliding_window": SlidingWindow,
          "concurrency": Concurrency, "random_faults": RandomFaults}


def from_json(body: dict) -> Shape:
    """A shape from its JSON description: {"shape": name, ...its parameters} or {"all": [...]}."""
    if "all" in body:
        return Combined(*(from_json(part) for part in body["all"]))
    params = {k: v for k, v in body.items() if k not in ("shape", "model")}
    return SHAPES[body["shape"]](**params)


def handle_shaped(fake, shape: Shape, handler, model_id: str, operation: str, body: dict) -> None:
    """Serve one call through ``shape``: refused calls are answered here, admitted ones by the fake."""
    from tests.fakes.bedrock import FAULTS, Fault

    with fake._lock:
        fault = fake.faults.get(model_id) or fake.faults.get("*")
        if fault is not None and (fault.until is None or time.time() <= fault.until):
            verdict = "fault"  # a scripted fault answers first, using none of the shape's quota
        else:
            verdict = shape.enter(time.monotonic())
    if verdict == "fault":
        return fake.handle(handler, model_id, operation, body, shaped=True)
    if verdict is ADMIT:
        try:
            return fake.handle(handler, model_id, operation, body, shaped=True)
        finally:
            with fake._lock:
                shape.leave()
    with fake._lock:
        stats = fake.stats[model_id]
        stats.calls += 1
        stats.times.append(time.time())
    fake.log.append((time.time(), model_id, verdict))
    if verdict == "timeout":
        stats.errors["timeout"] += 1
        time.sleep(getattr(shape, "hang_s", Fault("timeout").hang_s))
        return handler._error("ModelTimeoutException", "The request took too long to process.")
    error_type, message = FAULTS[verdict]
    stats.errors[error_type] += 1
    return handler._error(error_type, message)
