"""The data model. One module per aggregate; this package only gathers them for Alembic and callers."""
from .activity import ChatMessage, Export, ModelCall, ReviewEvent
from .analysis import ANALYSIS_STATUSES, Analysis, FeedbackItem
from .base import Base, utcnow
from .document import DOCUMENT_STATUSES, Document, Section
from .revision import REVISION_STATUSES, RevisionCheck, RevisionItem
from .summary import SUMMARY_STATES, VERDICTS, AppSetting, DocumentSummary
from .user import ROLES, AccountEvent, ApiToken, User

__all__ = [
    "AccountEvent",
    "AppSetting",
    "DocumentSummary",
    "SUMMARY_STATES",
    "VERDICTS",
    "ANALYSIS_STATUSES",
    "DOCUMENT_STATUSES",
    "ROLES",
    "Analysis",
    "ApiToken",
    "Base",
    "ChatMessage",
    "Document",
    "Export",
    "FeedbackItem",
    "ModelCall",
    "REVISION_STATUSES",
    "ReviewEvent",
    "RevisionCheck",
    "RevisionItem",
    "Section",
    "User",
    "utcnow",
]
