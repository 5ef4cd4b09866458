"""Review changes published to every open tab of a document, after they are committed: `item` (a
decision, an edit or a new custom item, with the item as the server now holds it) and `sections` (the
sections were renamed, merged, split or moved to another level; the tab fetches them again)."""
from __future__ import annotations

from app import events
from app.models import FeedbackItem


BULK_LIMIT = 200  # past this many items one event says "reload the feedback" instead of carrying them


def items_changed(redis, document_id: int, items: list[FeedbackItem], user_id: int | None = None) -> None:
    if len(items) > BULK_LIMIT:
        events.publish(redis, document_id, "item", {"items": [], "reload": True, "by": user_id})
    elif items:
        events.publish(redis, document_id, "item", {"items": [i.to_dict() for i in items], "by": user_id})


def sections_changed(redis, document_id: int, action: str, section_ids: list[int], user_id: int | None = None) -> None:
    events.publish(redis, document_id, "sections", {"action": action, "section_ids": section_ids, "by": user_id})


def item_deleted(redis, document_id: int, item_id: int, section_id: int, user_id: int | None = None) -> None:
    """A custom item was deleted: every tab drops it."""
    events.publish(redis, document_id, "item", {"items": [], "deleted": [{"id": item_id, "section_id": section_id}], "by": user_id})
