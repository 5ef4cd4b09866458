"""A heartbeat in Redis while a job (an analysis, an export) runs: the key exists while the job's
process lives and beats; when it lapses the scheduler's reconciler takes the job over. A Redis flush
removes it: the next beat writes it again."""
from __future__ import annotations

import threading


class Lease:
    def __init__(self, redis, key: str, seconds: int):
        self.redis, self.key, self.seconds = redis, key, seconds
        self._stop = threading.Event()

    def __enter__(self):
        self.redis.set(self.key, "1", ex=self.seconds)
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()
        return self

    def _beat(self):
        while not self._stop.wait(self.seconds / 3):
            try:
                self.redis.set(self.key, "1", ex=self.seconds)
            except Exception:  # Redis away for a moment: the next beat tries again
                pass

    def __exit__(self, *exc):
        self._stop.set()
        try:
            self.redis.delete(self.key)
        except Exception:
            pass
