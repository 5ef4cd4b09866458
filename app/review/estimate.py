"""How many model calls "Analyse all" will make, so the page can ask before a large one."""
from __future__ import annotations

from .prompts import CHUNK_CHARS, split_chunks

# Past either, the page asks the reviewer to confirm before analysing every section.
CONFIRM_SECTIONS = 50
CONFIRM_MODEL_CALLS = 100


def chunks_for(text: str, max_chunks: int) -> tuple[int, int]:
    """(chunks an analysis of ``text`` sends, chunks the text holds)."""
    total = 1 if len(text) <= CHUNK_CHARS else len(split_chunks(text))
    return min(total, max_chunks), total


def analysis_estimate(sections, max_chunks: int) -> dict:
    """Sections × chunks under the chunk budget: the fewest model calls analysing every section takes
    (a repair turn or a retry adds one)."""
    calls = cut_short = 0
    for section in sections:
        sent, total = chunks_for(section.text or "", max_chunks)
        calls += sent
        cut_short += sent < total
    count = len(sections)
    return {"sections": count, "model_calls": calls, "max_chunks_per_analysis": max_chunks,
            "sections_cut_short": cut_short,
            "confirm": count > CONFIRM_SECTIONS or calls > CONFIRM_MODEL_CALLS}
