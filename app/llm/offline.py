"""The offline provider: deterministic, no network. It does the tasks that have a rules version
(registered by the review and chat services) and refuses anything else, rather than inventing text."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from .errors import RequestInvalid
from .types import ModelRequest, ModelResponse, ModelSpec

OFFLINE_SPEC = ModelSpec("offline-rules", "Offline rules reviewer", rpm=1_000_000, tpm=10**12, cooldown_s=1)
_HANDLERS: dict[str, Callable[[dict], str]] = {}


def register_task(kind: str, handler: Callable[[dict], str]) -> None:
    """Give the offline provider a deterministic way to answer tasks of ``kind``."""
    _HANDLERS[kind] = handler


class OfflineProvider:
    name = "offline"

    def complete(self, spec: ModelSpec, request: ModelRequest) -> ModelResponse:
        started = time.monotonic()
        kind = (request.task or {}).get("kind")
        handler = _HANDLERS.get(kind)
        if handler is None:
            raise RequestInvalid("OfflineUnsupported", f"The offline reviewer cannot do {kind or 'free-form'} requests.")
        text = handler(request.task)
        return ModelResponse(
            text=text, model_id=spec.id, provider=self.name, input_tokens=request.estimate_input_tokens(),
            output_tokens=len(text) // 4 + 1, latency_ms=int((time.monotonic() - started) * 1000), stop_reason="end_turn",
        )

    def stream(self, spec: ModelSpec, request: ModelRequest) -> Iterator[str | ModelResponse]:
        response = self.complete(spec, request)
        words = response.text.split(" ")
        for i, word in enumerate(words):
            yield word if i == len(words) - 1 else word + " "
        yield response
