"""What callers hand the model layer and what they get back, whatever the provider."""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class ModelSpec:
    """One model in the chain with its own limits."""

    id: str
    label: str
    rpm: int = 200
    tpm: int = 200_000
    cooldown_s: float = 5.0
    thinking: bool = False  # supports extended thinking
    caching: bool = False  # supports prompt cache points
    max_output_tokens: int | None = None  # the model's own cap on maxTokens, when it has one
    tools: bool = True  # takes a forced tool (Converse toolChoice "tool"); Claude 3 and later do

    def to_dict(self) -> dict:
        return {"id": self.id, "label": self.label, "rpm": self.rpm, "tpm": self.tpm,
                "cooldown_s": self.cooldown_s, "thinking": self.thinking, "caching": self.caching,
                "max_output_tokens": self.max_output_tokens, "tools": self.tools}


# Output caps as Anthropic publishes them: 64K for the 4.x models and 3.7 Sonnet, 8K for 3.5 Sonnet, 4K for 3 Sonnet.
DEFAULT_CHAIN = (
    ModelSpec("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "Sonnet 4.5", cooldown_s=5, thinking=True, caching=True,
              max_output_tokens=64_000),
    ModelSpec("us.anthropic.claude-sonnet-4-20250514-v1:0", "Sonnet 4", cooldown_s=10, thinking=True, caching=True,
              max_output_tokens=64_000),
    ModelSpec("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "Claude 3.7 Sonnet", cooldown_s=15, thinking=True, caching=True,
              max_output_tokens=64_000),
    ModelSpec("us.anthropic.claude-3-5-sonnet-20240620-v1:0", "Claude 3.5 Sonnet (June)", cooldown_s=20, max_output_tokens=8192),
    ModelSpec("us.anthropic.claude-3-5-sonnet-20241022-v2:0", "Claude 3.5 Sonnet v2", cooldown_s=25, caching=True,
              max_output_tokens=8192),
    ModelSpec("anthropic.claude-3-sonnet-20240229-v1:0", "Claude 3 Sonnet", cooldown_s=30, max_output_tokens=4096),
    ModelSpec("us.anthropic.claude-haiku-4-5-20251001-v1:0", "Haiku 4.5", cooldown_s=35, thinking=True, caching=True,
              max_output_tokens=64_000),
)


def _optional_int(value) -> int | None:
    return None if value is None else int(value)


def chain_from_settings(raw_json: str | None, primary: str | None, rpm: int, tpm: int, fallback: bool) -> list[ModelSpec]:
    """The configured chain: BEDROCK_MODEL_CHAIN when given, else the default seven with the
    configured limits; BEDROCK_MODEL_ID moves to the front; without fallback, the primary alone."""
    if raw_json:
        try:
            entries = json.loads(raw_json)
            specs = [
                ModelSpec(
                    id=str(e["id"]), label=str(e.get("label") or e["id"]), rpm=int(e.get("rpm", rpm)),
                    tpm=int(e.get("tpm", tpm)), cooldown_s=float(e.get("cooldown_s", 5 * (i + 1))),
                    thinking=bool(e.get("thinking", False)), caching=bool(e.get("caching", False)),
                    max_output_tokens=_optional_int(e.get("max_output_tokens")), tools=bool(e.get("tools", True)),
                )
                for i, e in enumerate(entries)
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"BEDROCK_MODEL_CHAIN is not a valid JSON list of models: {exc}") from exc
        if not specs:
            raise ValueError("BEDROCK_MODEL_CHAIN is empty")
    else:
        specs = [replace(s, rpm=rpm, tpm=tpm) for s in DEFAULT_CHAIN]
        if primary and primary not in {s.id for s in specs}:
            specs.insert(0, ModelSpec(primary, primary, rpm, tpm, 5.0))
        elif primary:
            specs.sort(key=lambda s: s.id != primary)
    return specs if fallback else specs[:1]


@dataclass(frozen=True)
class Sampling:
    """BEDROCK_MAX_TOKENS and BEDROCK_TEMPERATURE as every analysis and chat call asks for them; the
    provider fits them to each model's rules (its output cap; temperature left to 1 with thinking)."""

    max_tokens: int = 8192
    temperature: float = 0.2

    @classmethod
    def from_config(cls, config) -> "Sampling":
        return cls(max_tokens=config["BEDROCK_MAX_TOKENS"], temperature=config["BEDROCK_TEMPERATURE"])


@dataclass(frozen=True)
class OutputTool:
    """A tool the model is made to call so that its answer arrives as JSON matching ``input_schema``."""

    name: str
    description: str
    input_schema: dict


@dataclass
class ModelRequest:
    """A conversation for one call. ``task`` carries structured input for the offline provider."""

    messages: list[dict]  # [{"role": "user"|"assistant", "text": str, "cache": bool}]
    system: str = ""
    max_tokens: int = 4096
    temperature: float | None = 0.2
    thinking_budget: int | None = None  # used only where the model supports thinking
    cache_system: bool = True
    task: dict | None = None
    tool: OutputTool | None = None  # forced where the model takes tools and thinking is off; else text

    def estimate_input_tokens(self) -> int:
        chars = len(self.system) + sum(len(m.get("text", "")) for m in self.messages)
        return chars // 4 + 1


@dataclass
class ModelResponse:
    text: str
    model_id: str
    provider: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    latency_ms: int = 0
    stop_reason: str | None = None
    attempts: int = 1
    overhead_ms: float = 0.0
    degraded: bool = False
    extra: dict = field(default_factory=dict)
    tool_used: bool = False  # the answer came as the forced tool's input (``text`` then holds its JSON)
    tool_input: object = None  # the parsed input; the raw string when it did not parse

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens
