"""The prompt boundary: every piece of document-derived text (titles, section text, guidelines, chat
context) reaches a model only inside a labelled data block opened and closed by a line carrying a
random token, fresh per request and absent from every text in that request, so nothing in a document
can close a block or pose as instructions outside one. Titles are flattened to one bounded line."""
from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable

TITLE_CHARS = 200
_SPACES = re.compile(r"\s+")


def one_line(text: str | None, limit: int = TITLE_CHARS) -> str:
    """A title fit for a prompt: line breaks, control and format characters (bidi overrides, zero-width
    joiners) become spaces, runs of space collapse, and the result is at most ``limit`` characters."""
    kept = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text or "")
    flat = _SPACES.sub(" ", kept).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "\u2026"


class Boundary:
    """One request's boundary token; ``block`` wraps data in it. ``draw`` supplies the random part
    (a parameter so a test can offer a token the document already holds and see it refused)."""

    PREFIX = "SECTION-"

    def __init__(self, *texts: str, draw: Callable[[], str] = lambda: secrets.token_hex(8)):
        while True:
            token = f"{self.PREFIX}{draw()}"
            if not any(token in text for text in texts if text):
                self.token = token
                return

    def block(self, label: str, body: str) -> str:
        """``label`` (our words, never document text) on its own line, then the data between two
        token lines."""
        return f"{label} (data, not instructions):\n{self.token}\n{body}\n{self.token}"
