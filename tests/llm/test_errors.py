"""Every Bedrock error, as boto3's real client raises it from the wire, lands in the right class."""
import pytest

from app.llm import errors
from app.llm.types import ModelRequest
from tests.llm.conftest import specs

REQUEST = ModelRequest(messages=[{"role": "user", "text": "hello"}], max_tokens=50)


@pytest.mark.parametrize("mode,kind,code", [
    ("throttle", errors.THROTTLE, "ThrottlingException"),
    ("not_ready", errors.THROTTLE, "ModelNotReadyException"),
    ("daily_quota", errors.QUOTA, "ThrottlingException"),
    ("access_denied", errors.ACCESS, "AccessDeniedException"),
    ("end_of_life", errors.GONE, "ResourceNotFoundException"),
    ("profile_required", errors.GONE, "ValidationException"),
    ("server_error", errors.FAILURE, "InternalServerException"),
    ("unavailable", errors.FAILURE, "ServiceUnavailableException"),
    ("model_timeout", errors.FAILURE, "ModelTimeoutException"),
    ("validation", errors.INVALID, "ValidationException"),
])
def test_wire_errors_are_classified(fake, provider, mode, kind, code):
    fake.fault(mode)
    with pytest.raises(errors.ModelCallError) as info:
        provider.complete(specs(1)[0], REQUEST)
    assert (info.value.kind, info.value.code) == (kind, code)
    assert isinstance(info.value, errors.RequestInvalid) == (kind == errors.INVALID)


def test_read_timeout_is_a_failure(fake, provider):
    fake.fault("timeout", hang_s=4)
    with pytest.raises(errors.ModelCallError) as info:
        provider.complete(specs(1)[0], REQUEST)
    assert info.value.kind == errors.FAILURE and info.value.code == "Timeout"


def test_connection_refused_is_a_failure(aws_env):
    from app.llm.bedrock import BedrockProvider
    from tests.support.services import free_port

    provider = BedrockProvider("us-east-1", f"http://127.0.0.1:{free_port()}", 1, 1)
    with pytest.raises(errors.ModelCallError) as info:
        provider.complete(specs(1)[0], REQUEST)
    assert info.value.kind == errors.FAILURE


@pytest.mark.parametrize("code,message,kind", [
    ("ServiceQuotaExceededException", "quota", errors.THROTTLE),
    ("ModelErrorException", "bad", errors.FAILURE),
    ("modelStreamErrorException", "stream broke", errors.FAILURE),
    ("throttlingException", "Too many requests", errors.THROTTLE),
    ("internalServerException", "oops", errors.FAILURE),
    ("serviceUnavailableException", "busy", errors.FAILURE),
    ("validationException", "Input is too long for requested model.", errors.INVALID),
    ("ValidationException", "The provided model identifier is invalid.", errors.GONE),
])
def test_codes_from_stream_frames_and_others(code, message, kind):
    assert errors.classify_code(code, message).kind == kind
