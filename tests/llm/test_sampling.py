"""BEDROCK_MAX_TOKENS and BEDROCK_TEMPERATURE reach every call, fitted to each model's rules, as the
fake Bedrock (which refuses what a real model refuses) records them."""
import pytest

from app.config import load_settings
from app.llm.bedrock import BedrockProvider
from app.llm.errors import RequestInvalid
from app.llm.types import ModelRequest, ModelSpec, Sampling, chain_from_settings


def request(max_tokens=8192, temperature=0.2, thinking_budget=None):
    return ModelRequest(messages=[{"role": "user", "text": "Review this."}], system="rules", max_tokens=max_tokens,
                        temperature=temperature, thinking_budget=thinking_budget)


def sent(fake) -> dict:
    return fake.requests[-1][2]


def test_sampling_defaults_are_the_settings_defaults():
    assert Sampling() == Sampling.from_config(load_settings({}))
    assert Sampling.from_config(load_settings({"BEDROCK_MAX_TOKENS": "3000", "BEDROCK_TEMPERATURE": "0.7"})) == Sampling(3000, 0.7)


def test_max_tokens_and_temperature_are_sent_as_asked(fake, provider):
    provider.complete(ModelSpec("m", "M"), request(3000, 0.7))
    assert sent(fake)["inferenceConfig"] == {"maxTokens": 3000, "temperature": 0.7}


def test_a_model_cap_lowers_max_tokens_and_the_fake_refuses_more(fake, provider):
    fake.configure("small", max_output_tokens=4096)
    provider.complete(ModelSpec("small", "Small", max_output_tokens=4096), request(8192))
    assert sent(fake)["inferenceConfig"]["maxTokens"] == 4096
    # Without the cap in the spec the model itself refuses: the rule the provider keeps is real.
    with pytest.raises(RequestInvalid):
        provider.complete(ModelSpec("small", "Small"), request(8192))


@pytest.mark.parametrize("max_tokens, budget, expected", [
    (8192, 2048, 2048),  # room: the budget asked
    (3000, 2048, 1976),  # the budget shrinks to leave 1,024 for the answer
    (2000, 2048, None),  # no room for the minimum budget: no thinking, the temperature is sent
])
def test_thinking_takes_temperature_one_and_a_budget_below_max_tokens(fake, aws_env, max_tokens, budget, expected):
    provider = BedrockProvider("us-east-1", fake.url, 2, 5, enable_thinking=True)
    provider.complete(ModelSpec("t", "T", thinking=True), request(max_tokens, 0.2, budget))
    body = sent(fake)
    assert body["inferenceConfig"]["maxTokens"] == max_tokens
    if expected is None:
        assert "additionalModelRequestFields" not in body and body["inferenceConfig"]["temperature"] == 0.2
    else:
        assert body["additionalModelRequestFields"]["thinking"] == {"type": "enabled", "budget_tokens": expected}
        assert "temperature" not in body["inferenceConfig"] and expected < max_tokens


def test_the_fake_refuses_what_thinking_models_refuse(fake, provider):
    base = {"messages": [{"role": "user", "content": [{"text": "x"}]}]}
    bad = [
        {"inferenceConfig": {"maxTokens": 2048, "temperature": 0.2}, "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}}},
        {"inferenceConfig": {"maxTokens": 2048}, "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 2048}}},
        {"inferenceConfig": {"maxTokens": 2048}, "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 512}}},
    ]
    for extra in bad:
        with pytest.raises(Exception) as info:
            provider.client.converse(modelId="t", **base, **extra)
        assert "ValidationException" in str(info.value)


def test_model_chain_entries_carry_an_output_cap():
    custom = chain_from_settings('[{"id": "a", "max_output_tokens": 4096}, {"id": "b"}]', None, 200, 1000, True)
    assert [s.max_output_tokens for s in custom] == [4096, None]
    default = {s.label: s.max_output_tokens for s in chain_from_settings(None, None, 200, 1000, True)}
    assert default["Claude 3 Sonnet"] == 4096 and default["Sonnet 4.5"] == 64_000
