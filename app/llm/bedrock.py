"""The Bedrock provider: boto3 bedrock-runtime Converse and ConverseStream, boto3's own retries off
(the chain owns retries), timeouts from settings, optional endpoint override. A request's structured
answer is asked for through a forced tool where the model takes one and thinking is off (Anthropic
models refuse a forced tool with thinking on); otherwise the caller reads JSON from the text."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator

from .errors import classify_exception
from .types import ModelRequest, ModelResponse, ModelSpec

THINKING_MIN_BUDGET = 1024
ANSWER_ROOM = 1024  # tokens kept for the answer itself when thinking shares maxTokens


class BedrockProvider:
    name = "bedrock"

    def __init__(self, region: str, endpoint_url: str | None, connect_timeout: float, read_timeout: float,
                 enable_thinking: bool = False, max_connections: int = 50):
        import boto3
        from botocore.config import Config

        self.enable_thinking = enable_thinking
        self.client = boto3.client(
            "bedrock-runtime", region_name=region, endpoint_url=endpoint_url,
            # Requests are built by our own code, so botocore's per-call parameter validation is
            # skipped: it is a few milliseconds of CPU on every call.
            config=Config(connect_timeout=connect_timeout, read_timeout=read_timeout,
                          retries={"total_max_attempts": 1, "mode": "standard"},
                          max_pool_connections=max_connections, parameter_validation=False),
        )

    def _arguments(self, spec: ModelSpec, request: ModelRequest) -> dict:
        messages = []
        for message in request.messages:
            content = [{"text": message["text"]}]
            if message.get("cache") and spec.caching:
                content.append({"cachePoint": {"type": "default"}})
            messages.append({"role": message["role"], "content": content})
        max_tokens = request.max_tokens
        if spec.max_output_tokens:
            max_tokens = min(max_tokens, spec.max_output_tokens)
        arguments = {"modelId": spec.id, "messages": messages, "inferenceConfig": {"maxTokens": max_tokens}}
        if request.system:
            system = [{"text": request.system}]
            if request.cache_system and spec.caching:
                system.append({"cachePoint": {"type": "default"}})
            arguments["system"] = system
        budget = self._thinking_budget(spec, request, max_tokens)
        if self._forces_tool(spec, request, budget):
            tool = request.tool
            arguments["toolConfig"] = {
                "tools": [{"toolSpec": {"name": tool.name, "description": tool.description,
                                        "inputSchema": {"json": tool.input_schema}}}],
                "toolChoice": {"tool": {"name": tool.name}},
            }
        if budget:
            # With thinking on, Anthropic models take temperature 1 only (left unset: 1 is the default),
            # and the budget counts within maxTokens, so it must stay below it.
            arguments["additionalModelRequestFields"] = {"thinking": {"type": "enabled", "budget_tokens": budget}}
        elif request.temperature is not None:
            arguments["inferenceConfig"]["temperature"] = request.temperature
        return arguments

    def _thinking_budget(self, spec: ModelSpec, request: ModelRequest, max_tokens: int) -> int | None:
        """The thinking budget for this call, or None: thinking off, unsupported, or no room for it
        (at least THINKING_MIN_BUDGET, and ANSWER_ROOM tokens left below maxTokens for the answer)."""
        if not (self.enable_thinking and spec.thinking and request.thinking_budget):
            return None
        budget = min(max(THINKING_MIN_BUDGET, request.thinking_budget), max_tokens - ANSWER_ROOM)
        return budget if budget >= THINKING_MIN_BUDGET else None

    @staticmethod
    def _forces_tool(spec: ModelSpec, request: ModelRequest, thinking_budget: int | None) -> bool:
        return request.tool is not None and spec.tools and not thinking_budget

    @staticmethod
    def _tool_answer(raw_input) -> tuple[object, str]:
        """(input, its text) from a toolUse input: JSON in a non-stream answer, pieces of a JSON string
        in a stream. Input that does not parse stays the raw string, for the caller to refuse."""
        if isinstance(raw_input, str):
            try:
                return json.loads(raw_input), raw_input
            except ValueError:
                return raw_input, raw_input
        return raw_input, json.dumps(raw_input)

    @staticmethod
    def _usage(usage: dict) -> dict:
        return {
            "input_tokens": usage.get("inputTokens", 0), "output_tokens": usage.get("outputTokens", 0),
            "cache_read_tokens": usage.get("cacheReadInputTokens", 0),
            "cache_write_tokens": usage.get("cacheWriteInputTokens", 0),
        }

    def complete(self, spec: ModelSpec, request: ModelRequest) -> ModelResponse:
        started = time.monotonic()
        try:
            raw = self.client.converse(**self._arguments(spec, request))
        except Exception as exc:
            raise classify_exception(exc) from exc
        blocks = raw.get("output", {}).get("message", {}).get("content", [])
        text = "".join(block.get("text", "") for block in blocks if "text" in block)
        tool_use = next((b["toolUse"] for b in blocks if "toolUse" in b and request.tool
                         and b["toolUse"].get("name") == request.tool.name), None)
        tool_input = None
        if tool_use is not None:
            tool_input, text = self._tool_answer(tool_use.get("input"))
        return ModelResponse(
            text=text, model_id=spec.id, provider=self.name, stop_reason=raw.get("stopReason"),
            latency_ms=int((time.monotonic() - started) * 1000), tool_used=tool_use is not None,
            tool_input=tool_input, **self._usage(raw.get("usage", {})),
        )

    def stream(self, spec: ModelSpec, request: ModelRequest) -> Iterator[str | ModelResponse]:
        """Yields text deltas, then one ModelResponse with the usage (and the tool's input, gathered
        from its deltas, when the answer came through the forced tool)."""
        started = time.monotonic()
        try:
            raw = self.client.converse_stream(**self._arguments(spec, request))
        except Exception as exc:
            raise classify_exception(exc) from exc
        parts: list[str] = []
        tool_parts: dict[int, list[str]] = {}  # content block index → input pieces of our tool
        usage: dict = {}
        stop = None
        try:
            for item in raw["stream"]:
                if "contentBlockStart" in item:
                    started_block = item["contentBlockStart"]
                    tool_use = started_block.get("start", {}).get("toolUse")
                    if tool_use and request.tool and tool_use.get("name") == request.tool.name:
                        tool_parts[started_block["contentBlockIndex"]] = []
                elif "contentBlockDelta" in item:
                    block = item["contentBlockDelta"]
                    delta = block["delta"]
                    if "toolUse" in delta and block.get("contentBlockIndex") in tool_parts:
                        tool_parts[block["contentBlockIndex"]].append(delta["toolUse"].get("input", ""))
                    elif delta.get("text"):
                        parts.append(delta["text"])
                        yield delta["text"]
                elif "messageStop" in item:
                    stop = item["messageStop"].get("stopReason")
                elif "metadata" in item:
                    usage = item["metadata"].get("usage", {})
        except Exception as exc:
            raise classify_exception(exc) from exc
        text, tool_input = "".join(parts), None
        if tool_parts:
            tool_input, text = self._tool_answer("".join(next(iter(tool_parts.values()))))
        yield ModelResponse(text=text, model_id=spec.id, provider=self.name, stop_reason=stop,
                            latency_ms=int((time.monotonic() - started) * 1000), tool_used=bool(tool_parts),
                            tool_input=tool_input, **self._usage(usage))
