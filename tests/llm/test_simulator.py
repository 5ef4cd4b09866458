"""The Bedrock simulator (SIMULATE_BEDROCK=1, tests/fakes/simulator) answers through the fake's real
wire protocol, read by the app's own provider and parser: for any section text, every item it gives
validates against the app's feedback schema and quotes the section verbatim; its choices follow what
a sentence contains; the same seed gives the same answers; a forced tool is dispatched by its name;
chat replies quote the document, streamed in pieces."""
import json
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from app.llm.bedrock import BedrockProvider
from app.llm.types import ModelRequest, ModelSpec, OutputTool, Sampling
from app.review.boundary import Boundary
from app.review.prompts import analysis_request
from app.review.quotes import verify_quote
from app.review.schema import feedback_json_schema, parse_items, parse_tool_input
from scripts.run import simulator_command
from tests.fakes.bedrock import FakeBedrock
from tests.fakes.simulator import RESPONDERS, Simulator, SimulatorSettings
from tests.fakes.simulator.feedback import review

VALIDATOR = Draft202012Validator(feedback_json_schema())
TOOLS, TEXT = ModelSpec("sim-tools", "Simulated"), ModelSpec("sim-text", "Simulated, no tools", tools=False)


@pytest.fixture(scope="module")
def fake():
    server = FakeBedrock().start()
    server.responder = Simulator(SimulatorSettings(seed=7))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def provider(fake):
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    yield BedrockProvider("us-east-1", fake.url, connect_timeout=2, read_timeout=10)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def analysis(text: str, title: str = "Actions") -> ModelRequest:
    return analysis_request(document_title="Refund delays", section_title=title, chunk=text, chunk_index=0, chunks=1,
                            previous_title="Timeline", next_title=None, guidelines=None, guidelines_mode=None,
                            sampling=Sampling(), all_titles=["Timeline", title], first_section=False)


FRAGMENTS = st.sampled_from([
    "On 03-Mar-2025 several customers complained.", "Owner: RA Quality; ECD: 10-Oct-2025.", "Fix the alert threshold.",
    "Owner: [NAME of owning director]", "Refunds of $12,400 were late.", "37% of cases were reopened.", "TBD",
    "The root cause was a gap in monitoring.", "This breaches the data retention policy.", "Due: 2025-09-25",
    "<insert date>", "XX-XXX-XXXX", "Completed: 25/09/2025.", "The team will retrain agents by September 25, 2025.",
    "  ", "\n", "\n\n", "\t", " \u00a0", "Seller ", "«quoted» ", "SECTION-0123456789abcdef", "\u200b", "...", "???",
])
SECTION_TEXTS = st.one_of(
    st.lists(FRAGMENTS, max_size=25).map(" ".join),
    st.lists(st.one_of(FRAGMENTS, st.text(max_size=40)), max_size=15).map("".join),
    st.text(max_size=400),
)


def _checked(text: str, tool_input) -> list[dict]:
    VALIDATOR.validate(tool_input)
    items = tool_input["feedback_items"]
    for item in items:
        assert text.find(item["quote"]) >= 0, (item["quote"], text)
        assert verify_quote(item["quote"], text) is not None
    has_words = any(ch.isalnum() or ch == "_" for ch in text)
    assert (len(items) >= 1) == has_words, (text, items)
    return items


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SECTION_TEXTS)
def test_every_item_validates_against_the_feedback_schema_and_quotes_the_section_verbatim(provider, text):
    response = provider.complete(TOOLS, analysis(text))
    assert response.tool_used and response.stop_reason == "tool_use"
    items = _checked(text, response.tool_input)
    parsed, dropped = parse_tool_input(response.tool_input)
    assert dropped == [] and len(parsed) == len(items)
    assert all(verify_quote(item.quote, text) for item in parsed)
    # Without the tool (thinking on, or a model that takes no tools): the same answer as JSON text.
    as_text = provider.complete(TEXT, analysis(text))
    assert not as_text.tool_used and json.loads(as_text.text) == response.tool_input
    assert parse_items(as_text.text)[0] == parsed


def test_the_tool_input_streams_in_pieces_like_any_tool_answer(provider, fake):
    text = "Fix the alert threshold. Owner: RA Quality; ECD: 10-Oct-2025."
    fake.configure(TOOLS.id, tool_input_chunks=9)
    *deltas, final = list(provider.stream(TOOLS, analysis(text)))
    assert deltas == [] and final.tool_used
    _checked(text, final.tool_input)


def test_types_points_and_risks_follow_what_each_sentence_contains():
    text = ("Owner: [NAME of owning director]\n"
            "Fix the alert threshold.\n"
            "Owner: RA Quality; ECD: 10-Oct-2025; the action is to retrain agents.\n"
            "Several customers complained.\n"
            "Refunds of $12,400 were late.\n"
            "The team will update the runbook, owned by Payments Ops.\n")
    items = {i["quote"]: i for i in review(text, random.Random(1), max_items=10)["feedback_items"]}
    assert len(items) == 6
    placeholder = items["Owner: [NAME of owning director]"]
    assert (placeholder["type"], placeholder["risk_level"], 13 in placeholder["hawkeye_refs"]) == ("critical", "High", True)
    no_owner = items["Fix the alert threshold."]
    assert (no_owner["type"], no_owner["risk_level"], no_owner["hawkeye_refs"]) == ("important", "High", [12])
    tracked = items["Owner: RA Quality; ECD: 10-Oct-2025; the action is to retrain agents."]
    assert tracked["type"] == "positive" and "10-Oct-2025" in tracked["description"]
    vague = items["Several customers complained."]
    assert vague["type"] == "suggestion" and "Several" in vague["description"] and 18 in vague["hawkeye_refs"]
    money = items["Refunds of $12,400 were late."]
    assert money["hawkeye_refs"] == [8, 18] and "$12,400" in money["description"]
    no_date = items["The team will update the runbook, owned by Payments Ops."]
    assert no_date["type"] == "important" and no_date["risk_level"] == "Medium"
    assert len({i["type"] for i in items.values()}) == 4 and len({i["risk_level"] for i in items.values()}) == 3
    # An action whose owner and date follow in the next sentence of its line is not "without an owner".
    split = [i for seed in range(20) for i in review("Add an alarm on the queue age. Owner: Payments Ops; ECD: 30-Jun-2025.",
                                                     random.Random(seed), max_items=10)["feedback_items"]
             if i["quote"] == "Add an alarm on the queue age."]
    assert split and all(i["type"] == "positive" and "30-Jun-2025" in i["description"] for i in split)


def test_the_same_seed_gives_the_same_review_and_another_seed_may_differ():
    texts = [" ".join(f"Sentence {n} of section {s}: fix item {n} by the owner." for n in range(12)) for s in range(10)]
    body = lambda text: {"messages": [{"role": "user", "content": [{"text": analysis(text).messages[0]["text"]}]}],
                         "toolConfig": {"tools": [{"toolSpec": {"name": "record_feedback"}}],
                                        "toolChoice": {"tool": {"name": "record_feedback"}}}}
    first, again, other = Simulator(SimulatorSettings(seed=1)), Simulator(SimulatorSettings(seed=1)), Simulator(SimulatorSettings(seed=2))
    answers = [first("m", body(t)) for t in texts]
    assert answers == [again("m", body(t)) for t in reversed(texts)][::-1]  # order of calls does not matter
    assert answers != [other("m", body(t)) for t in texts]


def test_a_forced_tool_is_answered_by_the_responder_registered_for_its_name(provider, monkeypatch):
    # A tool name nothing answers yet (the fake's own tool_responders, summary and revision check, come first).
    tool = OutputTool(name="record_verdict", description="A verdict.", input_schema={"type": "object"})
    request = ModelRequest(system="s", messages=[{"role": "user", "text": "Summarise."}], max_tokens=500, tool=tool)
    unknown = provider.complete(TOOLS, request)
    assert unknown.stop_reason == "malformed_tool_use" and "no responder for the tool 'record_verdict'" in unknown.tool_input
    monkeypatch.setitem(RESPONDERS, "record_verdict", lambda prompt, rng, settings: {"risk_score": 42, "tool": prompt.tool})
    known = provider.complete(TOOLS, request)
    assert known.tool_used and known.tool_input == {"risk_score": 42, "tool": "record_verdict"}


def test_chat_replies_quote_the_document_streamed_in_pieces(provider, fake):
    section = ("The refund queue was not monitored over the weekend. Owner: [NAME of owning director]\n"
               "Several customers waited 9 days for refunds of $12,400 in total.")
    context = (f"Document: Refund delays\nCurrent section: Findings\n{section}\n"
               "- [critical, High, pending] A placeholder. (quote: \u201cOwner: [NAME of owning director]\u201d; suggestion: none)")
    boundary = Boundary(context)
    question = "How long did customers wait for their refunds?"
    text = boundary.block("Document and review", context) + f"\n\nQuestion: {question}"
    fake.configure(TOOLS.id, stream_chunks=12)
    *deltas, final = list(provider.stream(TOOLS, ModelRequest(system="s", messages=[{"role": "user", "text": text}], max_tokens=800)))
    reply = "".join(deltas)
    assert len(deltas) >= 10 and reply == final.text and not final.tool_used
    cited = [line[3:-1] for line in reply.splitlines() if line.startswith("> \u201c")]
    assert cited and all(line in section for line in cited)
    assert cited[0] == "Several customers waited 9 days for refunds of $12,400 in total."  # the most words in common
    assert "Document: Refund delays" not in reply and "Current section" not in reply


def test_chat_without_document_text_says_so_instead_of_inventing(provider):
    context = "Document: Refund delays\nSections: Timeline, Findings"
    text = Boundary(context).block("Document and review", context) + "\n\nQuestion: Who owns the fix?"
    *deltas, final = list(provider.stream(TOOLS, ModelRequest(system="s", messages=[{"role": "user", "text": text}], max_tokens=800)))
    assert "cannot quote it" in final.text and "\u201c" not in final.text


def test_make_run_passes_the_simulator_settings_to_the_fake():
    command = simulator_command({"SIMULATOR_SEED": "17", "SIMULATOR_LATENCY": "0.2", "SIMULATOR_MAX_ITEMS": "2"}, "9999")
    assert command[1:4] == ["-m", "tests.fakes.bedrock", "--simulate"]
    options = dict(zip(command[4::2], command[5::2]))
    assert options == {"--port": "9999", "--latency": "0.2", "--seed": "17", "--max-items": "2", "--stream-chunks": "24"}
