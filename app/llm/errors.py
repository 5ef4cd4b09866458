"""Every way a model call can fail, classified once, so the chain knows what to do with it."""
from __future__ import annotations

import re

# outcome kinds the chain acts on
THROTTLE = "throttle"  # slow this model down for everyone (learned limits cut), try another
QUOTA = "quota"  # a daily quota: cool for long
ACCESS = "access"  # no access to this model: unusable until reset or the unusable-probe interval
GONE = "gone"  # end of life / not found / needs an inference profile: unusable likewise
FAILURE = "failure"  # 5xx, timeouts: after repeated ones a short backoff, try another
INVALID = "invalid"  # the request itself is wrong: the caller's fault, never retried elsewhere
LONG_KINDS = (QUOTA, ACCESS, GONE)
UNUSABLE_KINDS = (ACCESS, GONE)


class ModelCallError(Exception):
    def __init__(self, kind: str, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.kind, self.code, self.message = kind, code, message


class RequestInvalid(ModelCallError):
    """A ValidationException about the request: not retried on other models."""

    def __init__(self, code: str, message: str):
        super().__init__(INVALID, code, message)


class CapacityExhausted(Exception):
    """No model can take the call now; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: float, message: str = "Every model is busy or cooling down."):
        super().__init__(message)
        self.retry_after = max(1.0, float(retry_after))
        self.message = message


class ModelsUnusable(ModelCallError):
    """Every model in the chain is unusable (access denied, gone, needs an inference profile): no
    wait will help until an admin acts, so the request fails rather than defers."""

    def __init__(self, message: str = "Every model in the chain is unusable (no access, or retired); an admin must fix the model configuration."):
        super().__init__("unusable", "ModelsUnusable", message)


class StreamInterrupted(Exception):
    """The model failed after part of a streamed reply reached the user."""

    def __init__(self, partial: str, cause: ModelCallError):
        super().__init__(str(cause))
        self.partial, self.cause = partial, cause


_DAILY = re.compile(r"per day|daily", re.I)
_PROFILE = re.compile(r"inference profile", re.I)
_EOL = re.compile(r"end of (its )?life|legacy|model identifier is invalid|model is not supported", re.I)


def classify_code(code: str, message: str) -> ModelCallError:
    """Map a Bedrock error code (as in x-amzn-ErrorType or an event-stream exception) to a kind."""
    normal = code[:1].upper() + code[1:] if code else "Unknown"
    message = message or ""
    if normal in ("ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"):
        return ModelCallError(QUOTA if _DAILY.search(message) else THROTTLE, normal, message)
    if normal == "ModelNotReadyException":
        return ModelCallError(THROTTLE, normal, message)
    if normal == "AccessDeniedException":
        return ModelCallError(ACCESS, normal, message)
    if normal == "ResourceNotFoundException":
        return ModelCallError(GONE, normal, message)
    if normal == "ValidationException":
        if _PROFILE.search(message) or _EOL.search(message):
            return ModelCallError(GONE, normal, message)
        return RequestInvalid(normal, message)
    if normal in ("InternalServerException", "ServiceUnavailableException", "ModelTimeoutException",
                  "ModelErrorException", "ModelStreamErrorException", "Timeout", "ConnectionError"):
        return ModelCallError(FAILURE, normal, message)
    return ModelCallError(FAILURE, normal, message)


def classify_exception(exc: Exception) -> ModelCallError:
    """A botocore/boto3 exception as a ModelCallError."""
    if isinstance(exc, ModelCallError):
        return exc
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return classify_code(error.get("Code", ""), error.get("Message", ""))
    if isinstance(exc, (ReadTimeoutError, ConnectTimeoutError)):
        return ModelCallError(FAILURE, "Timeout", str(exc))
    if isinstance(exc, (EndpointConnectionError, ConnectionClosedError)):
        return ModelCallError(FAILURE, "ConnectionError", str(exc))
    return ModelCallError(FAILURE, type(exc).__name__, str(exc)[:300])
