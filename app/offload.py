"""CPU-heavy work off the gevent event loop.

Under gunicorn's gevent workers every request of a worker shares one OS thread: a sign-in's scrypt
(about 0.1 s) or a document's extraction would hold every other request of that worker until it
ends. ``off_loop`` runs such work in the hub's native thread pool instead. Code that releases the
GIL (hashlib's scrypt) then runs beside the loop; pure-Python code shares the GIL with it in 5 ms
turns, so other requests keep moving. Without gevent (tests, the CLI, RQ jobs) it simply calls."""
from __future__ import annotations

from typing import Callable, TypeVar

T = TypeVar("T")


def _gevent_loop() -> bool:
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("threading")


def _capture(fn, args, kwargs):
    # An exception raised in the pool would also be printed by gevent's hub as a traceback on
    # stderr (an upload refused for its type is not an error to log): hand it back instead.
    try:
        return True, fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - re-raised in the caller, unchanged
        return False, exc


def off_loop(fn: Callable[..., T], *args, **kwargs) -> T:
    if not _gevent_loop():
        return fn(*args, **kwargs)
    from gevent import get_hub

    ok, value = get_hub().threadpool.apply(_capture, (fn, args, kwargs))
    if not ok:
        raise value
    return value
