"""Job functions used only by the worker tests."""
import os
import time

from flask import current_app

from app.extensions import redis_clients


def slow_mark(key: str, seconds: float) -> str:
    """Sleep, then record that the job ran to the end inside an app context."""
    redis_clients.client.set(f"{key}:started", "1")
    time.sleep(seconds)
    redis_clients.client.set(key, current_app.name)
    return "done"


def explode() -> None:
    raise RuntimeError("this job fails on purpose")


def process_window(seconds: float) -> dict:
    """Sleep; say which process ran the job and when (monotonic clock, shared by the machine)."""
    started = time.monotonic()
    time.sleep(seconds)
    return {"pid": os.getpid(), "started": started, "ended": time.monotonic()}
