"""Every model call recorded as a model_calls row. Rows are written by a background writer in
batches, so recording adds no database round trip to the call itself; ``flush`` waits for them
(jobs flush before their process exits, and so does interpreter exit). The writer's queue is bounded
(``max_queued``): when the database falls that far behind, a row is dropped rather than memory grown
without end, and every lost row (dropped, or refused by the database) is logged and counted in
``lost`` and the ``aiprism_model_call_records_lost`` metric."""
from __future__ import annotations

import atexit
import logging
import os
import queue
import threading

from sqlalchemy import insert

from app.models import ModelCall, utcnow

log = logging.getLogger(__name__)
BATCH = 200


class CallRecorder:
    def __init__(self, engine, max_queued: int = 20_000):
        self.engine = engine
        self.max_queued = max_queued
        self.lost = 0
        self._pid = None
        self._queue: queue.Queue | None = None
        atexit.register(self.flush)

    def _lose(self, reason: str, count: int = 1) -> None:
        from app.metrics import MODEL_CALL_RECORDS_LOST

        self.lost += count
        MODEL_CALL_RECORDS_LOST.labels(reason).inc(count)

    def _ensure_writer(self) -> queue.Queue:
        # One writer per process; a forked child (an RQ work horse) starts its own.
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._queue = queue.Queue(self.max_queued)
            threading.Thread(target=self._write_loop, args=(self._queue,), daemon=True, name="model-call-writer").start()
        return self._queue

    def record(self, *, provider: str, model_id: str, outcome: str, context: dict, attempt: int,
               latency_ms: int, error_code: str | None = None, usage: dict | None = None) -> None:
        if self.engine is None:
            return
        usage = usage or {}
        row = {
            "purpose": context.get("purpose", "other"), "document_id": context.get("document_id"),
            "analysis_id": context.get("analysis_id"), "user_id": context.get("user_id"), "provider": provider,
            "model_id": model_id, "outcome": outcome, "error_code": error_code, "attempt": attempt,
            "input_tokens": usage.get("input_tokens", 0), "output_tokens": usage.get("output_tokens", 0),
            "cache_read_tokens": usage.get("cache_read_tokens", 0), "cache_write_tokens": usage.get("cache_write_tokens", 0),
            "latency_ms": latency_ms, "created_at": utcnow(),
        }
        try:
            self._ensure_writer().put_nowait(row)
        except queue.Full:
            self._lose("queue_full")
            log.warning("model call record dropped: %d rows already wait for the database", self.max_queued)

    def _write_loop(self, rows: queue.Queue) -> None:
        statement = insert(ModelCall.__table__)
        while True:
            batch = [rows.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(rows.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write(statement, batch)
            finally:
                for _ in batch:
                    rows.task_done()

    def _write(self, statement, batch: list[dict]) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(statement, batch)
            return
        except Exception:
            if len(batch) == 1 and batch[0].get("document_id") is None and batch[0].get("analysis_id") is None:
                log.exception("could not write a model call record")
                self._lose("database")
                return
        # One bad row must not lose the others: write them one by one; a row whose document or
        # analysis was deleted meanwhile is kept without those links.
        for row in batch:
            try:
                with self.engine.begin() as conn:
                    conn.execute(statement, [row])
            except Exception:
                try:
                    with self.engine.begin() as conn:
                        conn.execute(statement, [{**row, "document_id": None, "analysis_id": None}])
                except Exception:
                    log.exception("could not write a model call record")
                    self._lose("database")

    def flush(self) -> None:
        """Wait until every call recorded by this process is in the database."""
        if self._queue is not None and self._pid == os.getpid():
            self._queue.join()
