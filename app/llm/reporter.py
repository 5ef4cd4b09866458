"""Outcomes of answered calls, reported off the call's path.

A successful call's report (its slots freed, the learned limits raised, the latency averaged) changes
nothing the caller waits for, so the chain hands it to one daemon thread per process, which sends
what has queued up in one Redis pipeline and then runs each report's follow-up (metrics). A failure's
report stays on the call's path: the next attempt must see the model cooling.

Nothing is lost silently: a full queue makes the caller report inline (counted in
``reported_inline``), ``flush`` waits for everything queued, and so does interpreter exit. A report
the thread cannot send is logged and counted (``failed``); its slots free when their lease ends.
"""
from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)
BATCH = 100


class OutcomeReporter:
    def __init__(self, send_many: Callable[[list[tuple]], list[float]], send_one: Callable[..., float],
                 max_queued: int = 10_000):
        self._send_many, self._send_one = send_many, send_one
        self.max_queued = max_queued
        self._pid: int | None = None
        self._queue: queue.Queue | None = None
        self.reported_inline = 0
        self.failed = 0
        atexit.register(self.flush)

    def _ensure_thread(self) -> queue.Queue:
        # One thread per process; a forked child (an RQ job process) starts its own.
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._queue = queue.Queue(self.max_queued)
            threading.Thread(target=self._loop, args=(self._queue,), daemon=True, name="chain-reporter").start()
        return self._queue

    def submit(self, report: tuple, then: Callable[[float], None] | None = None) -> None:
        """Send ``report`` (the arguments of ChainState.report) soon; then call ``then(cooldown_s)``."""
        try:
            self._ensure_thread().put_nowait((report, then))
        except queue.Full:
            self.reported_inline += 1
            cooldown = self._send_one(*report)
            if then is not None:
                then(cooldown)

    def _loop(self, jobs: queue.Queue) -> None:
        while True:
            batch = [jobs.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(jobs.get_nowait())
                except queue.Empty:
                    break
            try:
                try:
                    cooldowns = self._send_many([report for report, _ in batch])
                except Exception:
                    self.failed += len(batch)
                    log.exception("could not report %d model-call outcomes; their slots free when their leases end", len(batch))
                    cooldowns = [0.0] * len(batch)
                for (_, then), cooldown in zip(batch, cooldowns):
                    if then is not None:
                        try:
                            then(cooldown)
                        except Exception:
                            log.exception("model-call outcome follow-up failed")
            finally:
                for _ in batch:
                    jobs.task_done()

    def flush(self) -> None:
        """Wait until every outcome this process queued has been sent."""
        if self._queue is not None and self._pid == os.getpid():
            self._queue.join()
