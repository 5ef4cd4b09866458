"""The Bedrock simulator (``SIMULATE_BEDROCK=1``): a responder for the fake Bedrock server that answers
the app's requests the way a model would, from what the request holds, so the real wire protocol and
the app's real parsing, checks and quote verification run on every call.

- A forced tool: the responder registered for the tool's name in RESPONDERS builds the tool's input
  (``record_feedback``: feedback items quoting the section's sentences). Another tool is one small
  module with ``respond(prompt, rng, settings) -> dict`` and one line here. A forced tool without a
  responder gets a text answer saying so, which the app refuses, as it would a model's wrong answer.
- No tool, an analysis prompt (a "Section text" data block): the same feedback as JSON text.
- A chat question: a Markdown answer quoting the document's own sentences.
- Anything else: a short text answer.

Deterministic: every answer comes from a generator seeded with (seed, tool or kind, the request's
text), so the same seed and document give the same review in any order of calls."""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass

from . import chat, feedback
from .prompt import Prompt, read

RESPONDERS = {
    feedback.TOOL_NAME: feedback.respond,
}


@dataclass
class SimulatorSettings:
    seed: int = 0
    max_items: int = feedback.MAX_ITEMS  # items per section (at least one for a section with words)


class Simulator:
    """``Simulator(settings)(model_id, body) -> str``: the reply text, or the tool input as JSON text
    (the fake sends it as a toolUse block when the request forces a tool)."""

    def __init__(self, settings: SimulatorSettings | None = None):
        self.settings = settings or SimulatorSettings()

    def _rng(self, kind: str, text: str) -> random.Random:
        digest = hashlib.sha256(f"{self.settings.seed}\0{kind}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()
        return random.Random(digest)

    def __call__(self, model_id: str, body: dict) -> str:
        prompt = read(body)
        key = json.dumps(prompt.blocks, sort_keys=True) + (prompt.question or "")
        if prompt.tool is not None:
            responder = RESPONDERS.get(prompt.tool)
            if responder is None:
                return f"The Bedrock simulator has no responder for the tool {prompt.tool!r}."
            return json.dumps(responder(prompt, self._rng(prompt.tool, key), self.settings))
        if prompt.question is not None:
            return chat.answer(prompt, self._rng("chat", key), self.settings)
        if prompt.block("Section text") is not None:
            return json.dumps(feedback.respond(prompt, self._rng(feedback.TOOL_NAME, key), self.settings))
        return f"Simulated reply from {model_id}: the simulator answers analysis, chat and registered tools only."


__all__ = ["RESPONDERS", "Prompt", "Simulator", "SimulatorSettings"]
