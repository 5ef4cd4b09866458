"""A reviewer's own settings. Today: the confidence threshold below which the model's items are
hidden. A reviewer may raise it for themselves, never lower it below the deployment's MIN_CONFIDENCE."""
from __future__ import annotations

from sqlalchemy.orm import Session

from app.models import User


class PreferenceError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def threshold(user: User, deployment_min: float) -> float:
    """The confidence threshold that applies to this reviewer: theirs, but never below the deployment's."""
    own = getattr(user, "min_confidence", None)
    return max(deployment_min, own) if own is not None else deployment_min


def set_min_confidence(db: Session, user: User, value, deployment_min: float) -> float:
    """Store the reviewer's threshold (None clears it). Below the deployment's minimum is refused."""
    if value is None:
        user.min_confidence = None
    else:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise PreferenceError("invalid_min_confidence", "min_confidence must be a number from 0 to 1, or null.")
        if value < deployment_min:
            raise PreferenceError("below_deployment_minimum",
                                  f"The threshold cannot go below this deployment's minimum, {deployment_min:g}.")
        user.min_confidence = float(value)
    db.commit()
    return threshold(user, deployment_min)


def to_dict(user: User, deployment_min: float) -> dict:
    return {"min_confidence": user.min_confidence, "deployment_min_confidence": deployment_min,
            "effective_min_confidence": threshold(user, deployment_min)}
