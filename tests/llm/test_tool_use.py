"""Structured output through Converse tool use, boto3's real client against the fake Bedrock: the forced
tool is sent where the model takes tools and thinking is off, its input is read from converse and from
converse-stream pieces, and the text path is kept where the model spec or thinking rules the tool out."""
import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.llm.bedrock import BedrockProvider
from app.llm.errors import RequestInvalid
from app.llm.types import ModelRequest, ModelResponse, ModelSpec, OutputTool, chain_from_settings
from app.review import prompts
from app.review.schema import RISKS, TEXT_LIMITS, TYPES, OutputInvalid, feedback_json_schema, items_from, parse_tool_input

TOOL = prompts.FEEDBACK_TOOL
ANSWER = {"feedback_items": [{"type": "important", "description": "Name the owner.", "risk_level": "Medium",
                              "confidence": 0.8, "hawkeye_refs": [12], "quote": "The seller shipped late"}]}
MALFORMED = '{"feedback_items": [{"type": "crit'


def request(tool: OutputTool | None = TOOL, thinking_budget=None) -> ModelRequest:
    return ModelRequest(messages=[{"role": "user", "text": "Review this."}], system="rules", max_tokens=4096,
                        tool=tool, thinking_budget=thinking_budget)


def sent(fake) -> dict:
    return fake.requests[-1][2]


def streamed(provider, spec, req) -> tuple[list[str], ModelResponse]:
    items = list(provider.stream(spec, req))
    return items[:-1], items[-1]


def test_the_forced_tool_is_sent_and_its_input_read(fake, provider):
    fake.static_reply = json.dumps(ANSWER)
    response = provider.complete(ModelSpec("m", "M"), request())
    body = sent(fake)
    assert body["toolConfig"]["toolChoice"] == {"tool": {"name": "record_feedback"}}
    (tool,) = body["toolConfig"]["tools"]
    assert tool["toolSpec"]["name"] == "record_feedback" and tool["toolSpec"]["inputSchema"]["json"] == feedback_json_schema()
    assert response.tool_used and response.tool_input == ANSWER and response.stop_reason == "tool_use"
    assert json.loads(response.text) == ANSWER  # what a repair turn would show the model


@pytest.mark.parametrize("pieces", [1, 2, 7, 10_000])
def test_a_stream_gathers_the_tool_input_from_its_pieces(fake, provider, pieces):
    fake.static_reply = json.dumps(ANSWER)
    fake.configure("m", tool_input_chunks=pieces)
    deltas, final = streamed(provider, ModelSpec("m", "M"), request())
    assert deltas == []  # the tool's input is not text for a reader
    assert final.tool_used and final.tool_input == ANSWER and final.stop_reason == "tool_use"


def test_malformed_tool_input_arrives_raw_and_is_refused_like_malformed_text(fake, provider):
    fake.static_reply = MALFORMED
    spec = ModelSpec("m", "M")
    whole = provider.complete(spec, request())
    _, final = streamed(provider, spec, request())
    for response in (whole, final):
        assert response.tool_used and response.tool_input == MALFORMED and response.stop_reason == "malformed_tool_use"
        with pytest.raises(OutputInvalid):
            parse_tool_input(response.tool_input)
    for bad in ({"feedback_items": 5}, [ANSWER], None):
        with pytest.raises(OutputInvalid):
            parse_tool_input(bad)


def test_a_model_without_tools_gets_text_and_the_flag_is_what_keeps_it_working(fake, provider):
    fake.configure("plain", tools=False)
    fake.static_reply = json.dumps(ANSWER)
    response = provider.complete(ModelSpec("plain", "Plain", tools=False), request())
    assert "toolConfig" not in sent(fake) and not response.tool_used and json.loads(response.text) == ANSWER
    deltas, final = streamed(provider, ModelSpec("plain", "Plain", tools=False), request())
    assert "".join(deltas) == json.dumps(ANSWER) and not final.tool_used
    with pytest.raises(RequestInvalid):  # the same model, wrongly flagged as taking tools, refuses the call
        provider.complete(ModelSpec("plain", "Plain"), request())


def test_thinking_rules_out_the_forced_tool(fake, aws_env):
    provider = BedrockProvider("us-east-1", fake.url, 2, 5, enable_thinking=True)
    fake.static_reply = json.dumps(ANSWER)
    response = provider.complete(ModelSpec("t", "T", thinking=True), request(thinking_budget=2048))
    body = sent(fake)
    assert "toolConfig" not in body and body["additionalModelRequestFields"]["thinking"]["budget_tokens"] == 2048
    assert not response.tool_used and json.loads(response.text) == ANSWER
    # Where the budget does not fit, thinking is off and the tool is forced again.
    provider.complete(ModelSpec("t", "T", thinking=True, max_output_tokens=1500), request(thinking_budget=2048))
    assert "toolConfig" in sent(fake) and "additionalModelRequestFields" not in sent(fake)
    # The fake refuses what Anthropic models refuse: a forced tool with thinking on.
    with pytest.raises(Exception) as info:
        provider.client.converse(
            modelId="t", messages=[{"role": "user", "content": [{"text": "x"}]}], inferenceConfig={"maxTokens": 4096},
            additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 2048}},
            toolConfig={"tools": [{"toolSpec": {"name": "record_feedback", "inputSchema": {"json": feedback_json_schema()}}}],
                        "toolChoice": {"tool": {"name": "record_feedback"}}})
    assert "forces tool use" in str(info.value)


def test_text_requests_still_stream_text(fake, provider):
    fake.static_reply = "one two three four five six"
    fake.configure("m", stream_chunks=3)
    deltas, final = streamed(provider, ModelSpec("m", "M"), request(tool=None))
    assert len(deltas) == 3 and "".join(deltas) == final.text == "one two three four five six"
    assert "toolConfig" not in sent(fake) and not final.tool_used


def test_model_chain_entries_say_whether_a_model_takes_tools():
    custom = chain_from_settings('[{"id": "a", "tools": false}, {"id": "b"}]', None, 200, 1000, True)
    assert [s.tools for s in custom] == [False, True]
    assert all(s.tools for s in chain_from_settings(None, None, 200, 1000, True))


# ---------------------------------------------------------------- the schema and the validator agree
_TEXT = st.text(alphabet=string.ascii_letters + " .,;:!?'-", max_size=60)


def _from_schema(schema: dict):
    """Instances of the (small) JSON Schema subset the feedback schema uses."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema["type"]
    if kind == "string":
        return _TEXT.map(lambda t: t[: schema.get("maxLength")]).filter(lambda t: len(t.strip()) >= schema.get("minLength", 0))
    if kind == "integer":
        return st.integers(schema.get("minimum", -10), schema.get("maximum", 10))
    if kind == "number":
        return st.floats(schema.get("minimum", 0), schema.get("maximum", 1))
    if kind == "array":
        return st.lists(_from_schema(schema["items"]), max_size=min(schema.get("maxItems", 4), 4))
    required = {name: _from_schema(schema["properties"][name]) for name in schema.get("required", [])}
    optional = {name: _from_schema(sub) for name, sub in schema["properties"].items() if name not in required}
    return st.fixed_dictionaries(required, optional=optional)


@settings(max_examples=150, deadline=None)
@given(_from_schema(feedback_json_schema()))
def test_whatever_the_tool_schema_allows_the_validator_keeps(answer):
    items, dropped = items_from(answer)
    assert dropped == [] and len(items) == len(answer["feedback_items"])


def test_the_schema_states_the_validators_limits():
    item = feedback_json_schema()["properties"]["feedback_items"]["items"]
    assert item["properties"]["type"]["enum"] == list(TYPES) and item["properties"]["risk_level"]["enum"] == list(RISKS)
    assert {k: item["properties"][k]["maxLength"] for k in TEXT_LIMITS} == TEXT_LIMITS
    assert set(item["required"]) == {"type", "description"}
