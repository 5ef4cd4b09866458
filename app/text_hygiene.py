"""Text made safe to keep at intake: characters XML 1.0 cannot hold (which would break every later
Word, JSON-to-XML or PDF export of that text) removed from document text, titles, file names and
display names; bidirectional controls (which make `invoice‮fdp.exe` read as `invoiceexe.pdf`)
removed from file names. Exports clean again before writing (defence in depth)."""
from __future__ import annotations

import html
import re

import nh3

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


def strip_markup(text: str) -> str:
    """Plain text from text that may hold HTML (a model's answer, a reviewer's edit): parsed as HTML5
    by nh3 (Ammonia) with no tag allowed, so every element goes however it is spelt (`<img/src=x
    onerror=…>`, `<svg/onload=…>`, unclosed, mixed case, inside comments), `<script>`/`<style>`
    with their content; text is kept. The sanitiser answers HTML, so its escapes are undone, and the
    result is cleaned again until nothing changes: `&lt;script&gt;` in the input cannot come back as a
    tag. Prose such as "a < b > c" is kept; a `<` directly before a letter starts a tag, as in HTML."""
    current = text
    for _ in range(5):
        if "<" not in current and "&" not in current:
            return current
        cleaned = html.unescape(nh3.clean(current, tags=set(), strip_comments=True))
        if cleaned == current:
            return cleaned
        current = cleaned
    return current.replace("<", "").replace(">", "")  # never settled: no bracket is kept at all
