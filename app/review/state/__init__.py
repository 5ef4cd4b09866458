"""The review state: sections, each section's current analysis, feedback items and decisions.

Every rule that spans those tables lives here, and every reader and writer (views, jobs, chat,
statistics, exports, the CLI, section edits) goes through it:

- A section's *current analysis* (``sections.current_analysis_id``) is the newest analysis started
  for it; it gives the section's status and progress. It is set when an analysis is started.
- An item is *live* (shown, counted, exported, given to the chat) unless it is ``superseded``.
  Only a completed re-analysis of a section supersedes anything, and only that section's undecided
  AI items (``pending``, never edited, not custom). A decided item is never superseded.
- A section edit (rename, merge with next, split, change level) keeps every item, and is audited (a
  ``section_*`` review event in the same transaction) when the caller names who made it (``by``). An item goes to
  the section whose text now holds its quote, with offsets recomputed; a quote the text no longer
  holds leaves the item unverified and ``quote_missing``, in the section it was in.
- A revision check (``revisions``) follows a v1's live accepted and custom items into the next
  version: located once, unchanged quotes open by rule, the rest judged per aligned section group,
  reviewers' overrides audited.
- A custom item can be deleted by the reviewer who wrote it, and by no one else; its events stay in
  the audit with a ``delete`` event holding the item as it was. AI items are never deleted.
"""
from .items import (
    ItemDeleteError,
    delete_custom_item,
    current_analyses,
    current_statuses,
    export_items,
    is_decided,
    last_actions,
    live_items,
    make_current,
    progress_rows,
    reanalysis_preview,
    record_analysis,
    section_items,
)
from . import revisions
from .sections import SectionEditError, change_level, merge_with_next, rename_section, split_section

__all__ = [
    "revisions",
    "ItemDeleteError",
    "delete_custom_item",
    "SectionEditError",
    "change_level",
    "current_analyses",
    "current_statuses",
    "export_items",
    "is_decided",
    "last_actions",
    "live_items",
    "make_current",
    "merge_with_next",
    "progress_rows",
    "reanalysis_preview",
    "record_analysis",
    "rename_section",
    "section_items",
    "split_section",
]
