"""Failed sign-in counting in Redis, so every worker of every instance agrees.

Built on the ``limits`` library (the engine under Flask-Limiter) with a moving window: only failed
attempts are counted, per account and per client address, and either one over the limit blocks.
"""
from __future__ import annotations

import math
import time

from flask import Flask, current_app
from limits import parse
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter


class LoginThrottle:
    def init_app(self, app: Flask) -> None:
        storage = RedisStorage(
            app.config["REDIS_URL"], key_prefix="ai-prism:limits", socket_timeout=2, socket_connect_timeout=2
        )
        # One Redis-backed limiter for the app; sign-in failures and chat messages are counted in it.
        app.extensions["rate_limiter"] = MovingWindowRateLimiter(storage)
        app.extensions["login_failure_limit"] = parse(app.config["LOGIN_FAILURE_LIMIT"])

    @staticmethod
    def _parts():
        return current_app.extensions["rate_limiter"], current_app.extensions["login_failure_limit"]

    def retry_after(self, email: str, address: str) -> int | None:
        """Seconds to wait when the account or the address is over its limit, else None."""
        limiter, limit = self._parts()
        waits = []
        for scope, value in (("account", email), ("address", address)):
            if not limiter.test(limit, "login-failure", scope, value):
                reset_at = limiter.get_window_stats(limit, "login-failure", scope, value).reset_time
                waits.append(max(1, math.ceil(reset_at - time.time())))
        return max(waits) if waits else None

    def record_failure(self, email: str, address: str) -> None:
        limiter, limit = self._parts()
        limiter.hit(limit, "login-failure", "account", email)
        limiter.hit(limit, "login-failure", "address", address)


login_throttle = LoginThrottle()
