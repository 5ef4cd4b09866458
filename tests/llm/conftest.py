import pytest
import redis as redis_lib

from app.llm.bedrock import BedrockProvider
from app.llm.chain import ModelChain
from app.llm.state import ChainState
from app.llm.types import ModelSpec
from tests.fakes.bedrock import FakeBedrock


@pytest.fixture
def fake():
    server = FakeBedrock().start()
    yield server
    server.stop()


@pytest.fixture
def aws_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def provider(fake, aws_env):
    return BedrockProvider("us-east-1", fake.url, connect_timeout=2, read_timeout=2)


@pytest.fixture
def redis_client(redis_url):
    client = redis_lib.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()


def specs(n=3, rpm=600_000, tpm=10_000_000, cooldown=0.5, caching=False, thinking=False):
    return [ModelSpec(f"model-{i}", f"Model {i}", rpm, tpm, cooldown * (i + 1), thinking, caching) for i in range(n)]


@pytest.fixture
def make_chain(provider, redis_client):
    def make(model_specs=None, recorder=None, **state_options):
        state = ChainState(redis_client, **state_options)
        return ModelChain(model_specs or specs(), state, provider, recorder)

    return make
