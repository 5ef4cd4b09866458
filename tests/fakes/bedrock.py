"""A fake Bedrock Runtime HTTP server (standard library only) that speaks the real wire protocol, so
boto3's real client can be pointed at it with ``endpoint_url``:

- POST /model/{id}/converse         JSON in, JSON out; a forced tool (toolChoice tool/any) is answered
                                    with a toolUse block whose input is the reply parsed as JSON
                                    (a reply that does not parse: the raw string, stopReason
                                    "malformed_tool_use")
- POST /model/{id}/converse-stream  AWS event-stream frames with CRCs, exception frames included; a
                                    forced tool as contentBlockStart (toolUse id and name), the input
                                    JSON string in contentBlockDelta pieces, contentBlockStop,
                                    messageStop "tool_use"
- POST /model/{id}/invoke           Anthropic messages body in and out
- a forced tool with a simulated answer of its own (``tool_responders``: `record_summary` from
  tests/fakes/sim_summary.py, `record_revision_check` from tests/fakes/sim_revision.py) is answered
  by it unless a queued reply comes first
- errors: the HTTP status, ``x-amzn-ErrorType`` and a JSON ``message``, as Bedrock sends them

Per model: requests-per-minute and tokens-per-minute limits over a sliding 60 s window, latency,
prompt-cache read/write accounting, the request rules a real model enforces (output cap; with
thinking, temperature 1 and 1024 <= budget_tokens < maxTokens), every request recorded. Scripted faults: throttle storm, daily quota, access denied, end
of life, inference profile required, 5xx, timeout, mid-stream error, request validation.

In-process: ``FakeBedrock().start()``. As a process: ``python -m tests.fakes.bedrock --port 8765``
(``--simulate --seed N``: answers from tests.fakes.simulator, as under ``SIMULATE_BEDROCK=1 make run``;
every timing and limit is an option, see ``--help``);
control it over HTTP: POST /_fake/config, POST /_fake/faults, POST /_fake/replies, GET /_fake/stats,
POST /_fake/reset.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import secrets
import socket
import threading
import time
from collections import defaultdict, deque
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from tests.fakes import sim_revision, sim_summary
from tests.fakes.eventstream import event, exception

ERRORS = {
    "ThrottlingException": 429,
    "ServiceQuotaExceededException": 400,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ModelTimeoutException": 408,
    "ValidationException": 400,
    "ModelNotReadyException": 429,
    "ModelErrorException": 424,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
}
# fault mode → (error type, message) as Bedrock words them
FAULTS = {
    "throttle": ("ThrottlingException", "Too many requests, please wait before trying again."),
    "daily_quota": ("ThrottlingException", "Too many tokens per day, please wait before trying again."),
    "access_denied": ("AccessDeniedException", "You don't have access to the model with the specified model ID."),
    "end_of_life": ("ResourceNotFoundException", "This model version has reached the end of its life. Please refer to the AWS documentation for more details."),
    "profile_required": ("ValidationException", "Invocation of model ID anthropic.claude with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model."),
    "server_error": ("InternalServerException", "The server encountered an internal error."),
    "unavailable": ("ServiceUnavailableException", "Bedrock is unable to process your request."),
    "model_timeout": ("ModelTimeoutException", "The request took too long to process."),
    "not_ready": ("ModelNotReadyException", "The model is not ready to serve inference requests."),
    "validation": ("ValidationException", "Malformed input request: messages: required key [content] not found."),
}


def tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


@dataclass
class ModelConfig:
    rpm: int = 1000
    tpm: int = 10_000_000
    latency_s: float = 0.0
    stream_chunks: int = 5
    max_output_tokens: int | None = None  # the model's cap on maxTokens; more is a ValidationException
    tools: bool = True  # takes toolConfig; False refuses it, as models without tool use do
    tool_input_chunks: int = 4  # converse-stream: the tool input's JSON string arrives in this many pieces


@dataclass
class Fault:
    mode: str
    until: float | None = None  # wall-clock deadline (time.time())
    count: int | None = None  # or a number of calls
    hang_s: float = 30.0  # for "timeout"
    after_chunks: int = 2  # for "mid_stream"


@dataclass
class Stats:
    calls: int = 0
    ok: int = 0
    errors: dict = field(default_factory=lambda: defaultdict(int))
    times: deque = field(default_factory=lambda: deque(maxlen=100_000))


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # the standard library's 5 drops bursts of connections (1 s SYN retries)
    daemon_threads = True


class FakeBedrock:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.models: dict[str, ModelConfig] = {}
        self.default = ModelConfig()
        self.faults: dict[str, Fault] = {}  # model id or "*" → fault
        self.limiters: dict = {}  # model id or "*" → a throttle shape from tests.fakes.limits
        self.replies: deque[str] = deque()
        self.responder = None  # callable(model_id, body) -> str, for in-process tests
        self.static_reply: str | None = None  # the reply for every call, settable over HTTP
        # Forced tools with a simulated answer of their own, asked before ``responder`` (tool name → callable).
        # A responder may answer None (a repair turn it leaves to ``responder``).
        self.tool_responders = {"record_summary": sim_summary.respond,
                                sim_revision.TOOL: lambda model_id, body: sim_revision.respond(body)}
        self.stats: dict[str, Stats] = defaultdict(Stats)
        self.requests: deque = deque(maxlen=1000)
        self.log: deque = deque(maxlen=500_000)  # (wall time, model id, outcome)
        self._windows: dict[str, deque] = defaultdict(deque)  # (time, tokens) per model
        self._cache: set[str] = set()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                # Small event frames go out at once, as from a real service (no Nagle delay).
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self):
                if self.path == "/_fake/stats":
                    return self._json(200, fake.snapshot())
                self._json(404, {"message": "not found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    return self._error("ValidationException", "Request body is not JSON.")
                if self.path.startswith("/_fake/"):
                    return self._json(200, fake.control(self.path[len("/_fake/"):], body))
                parts = self.path.split("/")
                if len(parts) != 4 or parts[1] != "model":
                    return self._json(404, {"message": "Unknown operation"})
                fake.handle(self, unquote(parts[2]), parts[3], body)

            def _json(self, status, payload, headers=None):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _error(self, error_type, message):
                self._json(ERRORS[error_type], {"message": message},
                           {"x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/"})

        self.server = _Server((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> "FakeBedrock":
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- control ---------------------------------------------------------------------------
    def configure(self, model_id: str, **settings) -> None:
        with self._lock:
            config = self.models.setdefault(model_id, ModelConfig(**asdict(self.default)))
            for key, value in settings.items():
                setattr(config, key, value)

    def fault(self, mode: str, model: str = "*", seconds: float | None = None, count: int | None = None, **extra) -> None:
        with self._lock:
            self.faults[model] = Fault(mode, until=time.time() + seconds if seconds else None, count=count, **extra)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def reset(self) -> None:
        with self._lock:
            self.faults.clear()
            self.replies.clear()
            self.stats.clear()
            self._windows.clear()
            self._cache.clear()
            self.requests.clear()
            self.log.clear()

    def control(self, action: str, body: dict) -> dict:
        if action == "config":
            for model_id, settings in body.get("models", {}).items():
                self.configure(model_id, **settings)
            if "default" in body:
                self.default = ModelConfig(**body["default"])
            if "reply" in body:
                self.static_reply = body["reply"]
        elif action == "faults":
            if body.get("clear"):
                self.clear_faults()
            if body.get("mode"):
                self.fault(body["mode"], body.get("model", "*"), body.get("seconds"), body.get("count"),
                           **{k: body[k] for k in ("hang_s", "after_chunks") if k in body})
        elif action == "limits":
            from tests.fakes import limits

            if body.get("clear"):
                self.limiters.clear()
            if body.get("shape") or body.get("all"):
                self.limiters[body.get("model", "*")] = limits.from_json(body)
        elif action == "replies":
            self.replies.extend(body.get("replies", []))
        elif action == "reset":
            self.reset()
        return {"ok": True}

    def snapshot(self) -> dict:
        with self._lock:
            return {m: {"calls": s.calls, "ok": s.ok, "errors": dict(s.errors), "times": list(s.times)} for m, s in self.stats.items()}

    # --- the service ----------------------------------------------------------------------
    def _active_fault(self, model_id: str) -> Fault | None:
        for key in (model_id, "*"):
            fault = self.faults.get(key)
            if fault is None:
                continue
            if fault.until is not None and time.time() > fault.until:
                del self.faults[key]
                continue
            if fault.count is not None:
                if fault.count <= 0:
                    del self.faults[key]
                    continue
                fault.count -= 1
            return fault
        return None

    def _prompt(self, body: dict) -> tuple[str, str, str]:
        """(cacheable prefix, rest, all text) of a Converse request."""
        prefix, rest, cached = [], [], False
        for block in body.get("system", []) or []:
            if "cachePoint" in block:
                cached = True
                prefix, rest = prefix + rest, []
            elif "text" in block:
                rest.append(block["text"])
        for message in body.get("messages", []) or []:
            for block in message.get("content", []) or []:
                if "text" in block:
                    rest.append(block["text"])
        return ("".join(prefix) if cached else ""), "".join(rest), "".join(prefix + rest)

    @staticmethod
    def _refusal(config: ModelConfig, body: dict) -> str | None:
        """The model's own rules on a Converse request, worded as Bedrock words the refusal."""
        inference = body.get("inferenceConfig") or {}
        max_tokens = inference.get("maxTokens")
        if config.max_output_tokens and max_tokens and max_tokens > config.max_output_tokens:
            return (f"The maximum tokens you requested exceeds the model limit of {config.max_output_tokens}. "
                    f"Try again with a maximum tokens value that is lower than {config.max_output_tokens}.")
        thinking = ((body.get("additionalModelRequestFields") or {}).get("thinking") or {})
        tool_config = body.get("toolConfig")
        if tool_config is not None and not config.tools:
            return "This model doesn't support tool use."
        choice = (tool_config or {}).get("toolChoice") or {}
        if thinking.get("type") == "enabled" and ("tool" in choice or "any" in choice):
            return "Thinking may not be enabled when tool_choice forces tool use."
        if thinking.get("type") == "enabled":
            budget = thinking.get("budget_tokens") or 0
            if budget < 1024:
                return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
            if max_tokens is not None and max_tokens <= budget:
                return "`max_tokens` must be greater than `thinking.budget_tokens`."
            if "temperature" in inference and inference["temperature"] != 1:
                return "`temperature` may only be set to 1 when thinking is enabled."
        return None

    @staticmethod
    def _forced_tool(body: dict) -> dict | None:
        """The toolUse start (id, name) when the request forces a tool; an "auto" choice gets text."""
        tool_config = body.get("toolConfig") or {}
        choice = tool_config.get("toolChoice") or {}
        names = [t["toolSpec"]["name"] for t in tool_config.get("tools", []) if "toolSpec" in t]
        name = (choice.get("tool") or {}).get("name") or (names[0] if "any" in choice and names else None)
        return {"toolUseId": f"tooluse_{secrets.token_urlsafe(16)}", "name": name} if name else None

    @staticmethod
    def _tool_input(reply: str) -> tuple[object, str]:
        """(input, stop reason) for a reply given as a tool's input."""
        try:
            return json.loads(reply), "tool_use"
        except ValueError:
            return reply, "malformed_tool_use"

    def _admit(self, model_id: str, cost: int) -> bool:
        config = self.models.get(model_id, self.default)
        now = time.monotonic()
        window = self._windows[model_id]
        while window and window[0][0] <= now - 60:
            window.popleft()
        if len(window) >= config.rpm or sum(t for _, t in window) + cost > config.tpm:
            return False
        window.append((now, cost))
        return True

    def handle(self, handler, model_id: str, operation: str, body: dict, shaped: bool = False) -> None:
        limiter = None if shaped else self.limiters.get(model_id, self.limiters.get("*"))
        if limiter is not None:
            from tests.fakes.limits import handle_shaped

            return handle_shaped(self, limiter, handler, model_id, operation, body)
        with self._lock:
            stats = self.stats[model_id]
            stats.calls += 1
            stats.times.append(time.time())
            self.requests.append((model_id, operation, body))
            fault = self._active_fault(model_id)
            config = self.models.get(model_id, self.default)
            if operation == "invoke":
                prompt_text = json.dumps(body.get("messages", "")) + str(body.get("system", ""))
                prefix, rest = "", prompt_text
            else:
                prefix, rest, prompt_text = self._prompt(body)
            max_tokens = (body.get("inferenceConfig") or {}).get("maxTokens") or body.get("max_tokens") or 1000
            admitted = fault is not None or self._admit(model_id, tokens(prompt_text) + max_tokens)
        self.log.append((time.time(), model_id, fault.mode if fault else ("ok" if admitted else "throttle")))
        if fault is not None and fault.mode not in ("timeout", "mid_stream"):
            error_type, message = FAULTS[fault.mode]
            stats.errors[error_type] += 1
            return handler._error(error_type, message)
        if fault is not None and fault.mode == "timeout":
            stats.errors["timeout"] += 1
            time.sleep(fault.hang_s)
            return handler._error("ModelTimeoutException", "The request took too long to process.")
        if not admitted:
            stats.errors["ThrottlingException"] += 1
            return handler._error(*FAULTS["throttle"])
        if not body.get("messages"):
            stats.errors["ValidationException"] += 1
            return handler._error(*FAULTS["validation"])
        problem = self._refusal(config, body)
        if problem:
            stats.errors["ValidationException"] += 1
            return handler._error("ValidationException", problem)

        with self._lock:
            reply = self.replies.popleft() if self.replies else None
        forced = (((body.get("toolConfig") or {}).get("toolChoice") or {}).get("tool") or {}).get("name")
        if reply is None and forced in self.tool_responders:
            reply = self.tool_responders[forced](model_id, body)
        if reply is None:
            if self.responder:
                reply = self.responder(model_id, body)
            else:
                reply = self.static_reply or f"Reviewed by {model_id}."
        cache_key = hashlib.sha256(f"{model_id}\0{prefix}".encode()).hexdigest() if prefix else None
        with self._lock:
            cache_read = tokens(prefix) if cache_key and cache_key in self._cache else 0
            cache_write = tokens(prefix) if cache_key and not cache_read else 0
            if cache_key:
                self._cache.add(cache_key)
        usage = {"inputTokens": tokens(rest), "outputTokens": tokens(reply), "totalTokens": tokens(rest) + tokens(reply),
                 "cacheReadInputTokens": cache_read, "cacheWriteInputTokens": cache_write}
        started = time.monotonic()
        tool = self._forced_tool(body) if operation != "invoke" else None
        if operation == "converse-stream":
            return self._stream(handler, config, reply, usage, fault, stats, tool)
        time.sleep(config.latency_s)
        latency = int((time.monotonic() - started) * 1000)
        stats.ok += 1
        if operation == "invoke":
            return handler._json(200, {
                "id": "msg_fake", "type": "message", "role": "assistant", "model": model_id,
                "content": [{"type": "text", "text": reply}], "stop_reason": "end_turn",
                "usage": {"input_tokens": usage["inputTokens"], "output_tokens": usage["outputTokens"],
                          "cache_read_input_tokens": cache_read, "cache_creation_input_tokens": cache_write},
            })
        content, stop = [{"text": reply}], "end_turn"
        if tool is not None:
            tool_input, stop = self._tool_input(reply)
            content = [{"toolUse": {**tool, "input": tool_input}}]
        handler._json(200, {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop, "usage": usage, "metrics": {"latencyMs": latency},
        })

    def _stream(self, handler, config: ModelConfig, reply: str, usage: dict, fault: Fault | None, stats: Stats,
                tool: dict | None = None) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/vnd.amazon.eventstream")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()

        def send(data: bytes):
            handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            handler.wfile.flush()

        started = time.monotonic()
        chunks = max(1, config.tool_input_chunks if tool else config.stream_chunks)
        kind = "toolUse" if tool else "text"
        delta = (lambda piece: {"toolUse": {"input": piece}}) if tool else (lambda piece: {"text": piece})
        size = max(1, math.ceil(len(reply) / chunks))
        pieces = [reply[i:i + size] for i in range(0, len(reply), size)] or [""]
        delay = config.latency_s / max(1, len(pieces))
        try:
            send(event("messageStart", {"role": "assistant"}))
            if kind == "toolUse":
                send(event("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": tool}}))
            for index, piece in enumerate(pieces):
                time.sleep(delay)
                if fault is not None and fault.mode == "mid_stream" and index >= fault.after_chunks:
                    stats.errors["modelStreamErrorException"] += 1
                    send(exception("modelStreamErrorException", "The model stream failed."))
                    handler.wfile.write(b"0\r\n\r\n")
                    return
                send(event("contentBlockDelta", {"contentBlockIndex": 0, "delta": delta(piece)}))
            send(event("contentBlockStop", {"contentBlockIndex": 0}))
            stop = self._tool_input(reply)[1] if tool else "end_turn"
            send(event("messageStop", {"stopReason": stop}))
            send(event("metadata", {"usage": usage, "metrics": {"latencyMs": int((time.monotonic() - started) * 1000)}}))
            handler.wfile.write(b"0\r\n\r\n")
            stats.ok += 1
        except (BrokenPipeError, ConnectionResetError):
            pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Bedrock Runtime for tests and simulations")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per reply (a stream spreads them over its pieces)")
    parser.add_argument("--stream-chunks", type=int, default=ModelConfig.stream_chunks, help="pieces of a streamed text reply")
    parser.add_argument("--tool-input-chunks", type=int, default=ModelConfig.tool_input_chunks,
                        help="pieces of a streamed tool input")
    parser.add_argument("--rpm", type=int, default=ModelConfig.rpm, help="requests per minute per model")
    parser.add_argument("--tpm", type=int, default=ModelConfig.tpm, help="tokens per minute per model")
    parser.add_argument("--simulate", action="store_true",
                        help="answer as a model would (tests.fakes.simulator) instead of one fixed line")
    parser.add_argument("--seed", type=int, default=0, help="the simulator's seed: the same seed gives the same answers")
    parser.add_argument("--max-items", type=int, default=None, help="the simulator's feedback items per section, at most")
    args = parser.parse_args(argv)
    fake = FakeBedrock(args.host, args.port)
    fake.default = ModelConfig(rpm=args.rpm, tpm=args.tpm, latency_s=args.latency, stream_chunks=args.stream_chunks,
                               tool_input_chunks=args.tool_input_chunks)
    if args.simulate:
        from tests.fakes.simulator import Simulator, SimulatorSettings

        settings = SimulatorSettings(seed=args.seed)
        if args.max_items is not None:
            settings.max_items = args.max_items
        fake.responder = Simulator(settings)
    print(f"fake Bedrock listening on {fake.url}" + (f" (simulating a model, seed {args.seed})" if args.simulate else ""),
          flush=True)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
