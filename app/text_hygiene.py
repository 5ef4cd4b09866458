"""Text made safe to keep at intake: characters XML 1.0 cannot hold (which would break every later
Word, JSON-to-XML or PDF export of that text) removed from document text, titles, file names and
display names; bidirectional controls (which make `invoice‮fdp.exe` read as `invoiceexe.pdf`)
removed from file names. Exports clean again before writing (defence in depth)."""
from __future__ import annotations

import re

# XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]; everything
# else (C0 controls but tab, LF, CR; lone surrogates; U+FFFE, U+FFFF) is refused by every XML writer.
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Explicit embeddings and overrides (U+202A-U+202E), isolates (U+2066-U+2069), the implicit marks
# (U+200E, U+200F) and the Arabic letter mark (U+061C).
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold; everything else kept as it was."""
    return XML_ILLEGAL.sub("", text)


def safe_file_name(name: str) -> str:
    """A file name as given, without XML-illegal characters nor bidirectional controls."""
    return BIDI_CONTROLS.sub("", xml_safe(name))


def safe_display_name(name: str) -> str:
    """A person's display name: XML-safe, bidirectional controls removed, whitespace collapsed."""
    return " ".join(BIDI_CONTROLS.sub("", xml_safe(name)).split())
