"""Sign-in throttling that an attacker cannot turn against the account's owner.

Counted in Redis, so every worker of every instance agrees. Three counts of *failed* attempts:

- per (account, address), a moving window (LOGIN_PAIR_FAILURE_LIMIT): one address guessing one
  account is refused with 429 once over it;
- per address, a moving window (LOGIN_ADDRESS_FAILURE_LIMIT): one address guessing many accounts is
  refused; set high enough for an office behind one NAT;
- per account, from anywhere: never a lockout, only a required wait that doubles with each failure
  past LOGIN_SLOWDOWN_AFTER, capped at LOGIN_SLOWDOWN_MAX_SECONDS. While an account is waiting, an
  address that has failed recently must wait it out; an address with no recent failures still has
  its password checked, so the owner signing in from a clean address always gets in.

Windows and counts come from the ``limits`` library (the engine under Flask-Limiter); the
per-account wait is ours, since no limiter there models a growing delay.
"""
from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

import redis as redis_lib
from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

# How long an account's failures are remembered after its last one.
ACCOUNT_MEMORY_S = 3600
_NAMESPACE = "login-failure"


@dataclass(frozen=True)
class ThrottlePolicy:
    pair_limit: RateLimitItem
    address_limit: RateLimitItem
    slow_after: int
    max_delay_s: int

    @classmethod
    def from_config(cls, config) -> "ThrottlePolicy":
        return cls(
            pair_limit=parse(config["LOGIN_PAIR_FAILURE_LIMIT"]),
            address_limit=parse(config["LOGIN_ADDRESS_FAILURE_LIMIT"]),
            slow_after=int(config["LOGIN_SLOWDOWN_AFTER"]),
            max_delay_s=int(config["LOGIN_SLOWDOWN_MAX_SECONDS"]),
        )

    def delay_after(self, failures: int) -> int:
        """The wait an account needs after ``failures`` failures: 0 up to the threshold, then 1, 2,
        4 … seconds, never above the cap."""
        if failures < self.slow_after:
            return 0
        return min(self.max_delay_s, 2 ** min(failures - self.slow_after, 30))


@dataclass(frozen=True)
class Verdict:
    """What the throttle says before the password is checked."""

    refuse_for: int | None  # seconds: answer 429 without checking the password
    account_wait: int  # seconds the account still has to wait (0: not slowed)


class SignInThrottle:
    """Failed sign-ins (and current-password checks) counted per account, per address and per pair."""

    def __init__(self, redis: redis_lib.Redis, limiter: MovingWindowRateLimiter, policy: ThrottlePolicy):
        self.redis = redis
        self.limiter = limiter
        self.policy = policy

    @staticmethod
    def _account_key(email: str) -> str:
        # Hashed: keys are listed by ops tools, and an email is personal data.
        return "ai-prism:login:account:" + hashlib.sha256(email.encode("utf-8")).hexdigest()[:32]

    def _retry_in(self, limit: RateLimitItem, *identifiers: str) -> int:
        reset_at = self.limiter.get_window_stats(limit, _NAMESPACE, *identifiers).reset_time
        return max(1, math.ceil(reset_at - time.time()))

    def account_wait(self, email: str, now: float | None = None) -> int:
        """Seconds left before the account may be tried again from an address that has failed."""
        raw = self.redis.hmget(self._account_key(email), "n", "last")
        if raw[0] is None or raw[1] is None:
            return 0
        delay = self.policy.delay_after(int(raw[0]))
        left = float(raw[1]) + delay - (time.time() if now is None else now)
        return max(0, math.ceil(left))

    def address_has_failed(self, address: str) -> bool:
        stats = self.limiter.get_window_stats(self.policy.address_limit, _NAMESPACE, "address", address)
        return stats.remaining < self.policy.address_limit.amount

    def check(self, email: str, address: str) -> Verdict:
        policy = self.policy
        if not self.limiter.test(policy.pair_limit, _NAMESPACE, "pair", email, address):
            return Verdict(self._retry_in(policy.pair_limit, "pair", email, address), 0)
        if not self.limiter.test(policy.address_limit, _NAMESPACE, "address", address):
            return Verdict(self._retry_in(policy.address_limit, "address", address), 0)
        wait = self.account_wait(email)
        if wait and self.address_has_failed(address):
            return Verdict(wait, wait)
        return Verdict(None, wait)

    def record_failure(self, email: str, address: str) -> int:
        """Count one failure everywhere; returns the wait the account now needs."""
        self.limiter.hit(self.policy.pair_limit, _NAMESPACE, "pair", email, address)
        self.limiter.hit(self.policy.address_limit, _NAMESPACE, "address", address)
        key = self._account_key(email)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hincrby(key, "n", 1)
        pipe.hset(key, "last", repr(time.time()))
        pipe.expire(key, ACCOUNT_MEMORY_S)
        failures = pipe.execute()[0]
        return self.policy.delay_after(int(failures))

    def record_success(self, email: str, address: str) -> None:
        """The owner got in from this address: its own mistakes for this account are forgiven. The
        account's count stays, so a sign-in by the owner never hands a guesser a fresh budget."""
        self.limiter.clear(self.policy.pair_limit, _NAMESPACE, "pair", email, address)


def init_throttle(app: Flask) -> None:
    storage = RedisStorage(
        app.config["REDIS_URL"], key_prefix="ai-prism:limits", socket_timeout=2, socket_connect_timeout=2
    )
    # One Redis-backed limiter for the app; sign-in failures and per-user limits are counted in it.
    app.extensions["rate_limiter"] = MovingWindowRateLimiter(storage)
    ThrottlePolicy.from_config(app.config)  # a malformed limit fails at start, not at first sign-in


def sign_in_throttle() -> SignInThrottle:
    """The app's throttle under the policy configured now (read per request, so it can be tuned)."""
    app = current_app
    return SignInThrottle(app.extensions["redis"], app.extensions["rate_limiter"], ThrottlePolicy.from_config(app.config))
