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


def off_loop(fn: Callable[..., T], *args, **kwargs) -> T:
    if not _gevent_loop():
        return fn(*args, **kwargs)
    from gevent import get_hub

    return get_hub().threadpool.apply(fn, args, kwargs)
