"""Text made fit for XML 1.0 before it goes into a .docx.

XML 1.0 allows tab, line feed, carriage return, U+0020–U+D7FF, U+E000–U+FFFD and U+10000–U+10FFFF;
lxml refuses anything else with a ValueError, so one control character in a quote, a text file or a
display name used to fail every export of the document. Those characters are removed (they have no
visible form in Word); everything else is kept as it is.
"""
from __future__ import annotations

import re

# Everything XML 1.0 forbids: C0 controls but tab/LF/CR, the surrogates (lone ones reach Python
# strings from JSON escapes), U+FFFE and U+FFFF.
ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str | None) -> str:
    """``text`` without the characters XML 1.0 forbids."""
    return ILLEGAL.sub("", text or "")


def xml_safe_with_offsets(text: str) -> tuple[str, list[int]]:
    """The cleaned text and, for each offset 0..len(text) of the original, the same place in the
    cleaned one (so quote offsets follow the text they point into)."""
    if not ILLEGAL.search(text):
        return text, list(range(len(text) + 1))
    kept: list[str] = []
    where: list[int] = []
    for char in text:
        where.append(len(kept))
        if not ILLEGAL.match(char):
            kept.append(char)
    where.append(len(kept))
    return "".join(kept), where
