"""Assemble sections from a document's blocks in reading order, keeping anchors from every block to
its place in the section text so quotes can later be mapped back to the source.

No section is left empty: a heading directly followed by a deeper heading becomes that heading's
parent (shown in ``parents``, never sent for review on its own); any other heading with no body is
kept as a line of text of its neighbour; a document whose only text is in headings (or its title)
becomes one section holding those lines."""
from __future__ import annotations

from dataclasses import dataclass, field

from app.text_hygiene import xml_safe

PREAMBLE_TITLE = "Preamble"
HEADINGS_ONLY_SIGNAL = "headings_only"


@dataclass
class ExtractedSection:
    title: str
    level: int
    signal: str
    text: str = ""
    # [block index in the source, start offset in ``text``, length]
    anchors: list[list[int]] = field(default_factory=list)
    reason: str = ""  # why the heading was chosen, in words
    parents: list[str] = field(default_factory=list)  # titles of the headings above it, outermost first
    raw_title: str = ""  # the heading block's text as it stands in the source (for turning it into text)

    @property
    def first_block(self) -> int | None:
        return self.anchors[0][0] if self.anchors else None

    @property
    def last_block(self) -> int | None:
        return self.anchors[-1][0] if self.anchors else None

    def to_dict(self) -> dict:
        return {
            "title": self.title, "level": self.level, "signal": self.signal, "reason": self.reason,
            "parents": self.parents, "text": self.text, "char_count": len(self.text),
            "first_block": self.first_block, "last_block": self.last_block,
        }

    def add_line(self, text: str, block: int | None, at_start: bool = False) -> None:
        """One more line of text (a heading that had no body of its own), anchored to its block."""
        if at_start:
            shift = len(text) + (1 if self.text else 0)
            self.anchors = [[b, s + shift if s >= 0 else s, n] for b, s, n in self.anchors]
            self.text = text + ("\n" + self.text if self.text else "")
            if block is not None:
                heading = [a for a in self.anchors if a[1] < 0]
                self.anchors = heading + [[block, 0, len(text)]] + [a for a in self.anchors if a[1] >= 0]
            return
        start = len(self.text) + (1 if self.text else 0)
        self.text = self.text + "\n" + text if self.text else text
        if block is not None:
            self.anchors.append([block, start, len(text)])


class SectionBuilder:
    """Feed headings and text blocks in reading order; ``finish`` returns the sections."""

    def __init__(self) -> None:
        self.sections: list[ExtractedSection] = []
        self._parts: list[str] = []
        self._length = 0
        self.title_lines: list[tuple[str, int]] = []  # the document's Title/Subtitle, not sections

    def _close(self) -> None:
        if self.sections:
            self.sections[-1].text = "".join(self._parts)
        self._parts, self._length = [], 0

    def heading(self, title: str, level: int, signal: str, block: int | None = None, reason: str = "",
                raw: str | None = None) -> None:
        self._close()
        title = xml_safe(title)
        section = ExtractedSection(
            title=title.strip()[:1000] or "Untitled", level=max(1, min(level, 9)), signal=signal, reason=reason,
            raw_title=(xml_safe(raw) if raw is not None else title).strip("\n"),
        )
        if block is not None:
            section.anchors.append([block, -1, 0])  # the heading itself; -1: not part of the text
        self.sections.append(section)

    def text(self, text: str, block: int, glue: str = "\n") -> None:
        # Cleaned per block, before offsets are taken, so anchors match the stored text.
        text = xml_safe(text).strip("\n")
        if not text.strip():
            return
        if not self.sections:
            self.sections.append(ExtractedSection(PREAMBLE_TITLE, 1, "preamble", reason="text before the first heading"))
        if self._parts:
            self._parts.append(glue)
            self._length += len(glue)
        self.sections[-1].anchors.append([block, self._length, len(text)])
        self._parts.append(text)
        self._length += len(text)

    def document_title(self, text: str, block: int) -> None:
        """A Title or Subtitle line: the document's title, not a section."""
        if text.strip():
            self.title_lines.append((text.strip("\n"), block))

    @property
    def current_signal(self) -> str | None:
        return self.sections[-1].signal if self.sections else None

    @property
    def headings(self) -> list[ExtractedSection]:
        """Every heading found, before empty ones are settled (for measuring detection)."""
        return [s for s in self.sections if s.signal != "preamble"]

    def finish(self) -> list[ExtractedSection]:
        self._close()
        sections = settle(self.sections)
        if not sections and self.title_lines:
            title = " ".join(self.title_lines[0][0].split())[:1000]
            only = ExtractedSection(title, 1, HEADINGS_ONLY_SIGNAL, reason="the document's only text is its title")
            for text, block in self.title_lines:
                only.add_line(text, block)
            sections = [only]
        return sections


def settle(sections: list[ExtractedSection]) -> list[ExtractedSection]:
    """Sections with no empty one left (see the module docstring); no text or title is lost."""
    kept: list[ExtractedSection] = []
    stack: list[tuple[int, str]] = []  # (level, title) of parent headings in force
    orphans: list[ExtractedSection] = []  # empty headings waiting for a section to join
    for index, section in enumerate(sections):
        while stack and stack[-1][0] >= section.level:
            stack.pop()
        if not section.text:
            if section.signal != "preamble" and _has_text_below(sections, index):
                stack.append((section.level, section.title))
                continue
            if kept:
                _absorb(kept[-1], section)
            else:
                orphans.append(section)
            continue
        section.parents = [title for _, title in stack]
        for orphan in reversed(orphans):  # headings before any text open the first section's text
            section.add_line(orphan.raw_title or orphan.title, _heading_block(orphan), at_start=True)
        orphans = []
        kept.append(section)
    if orphans:  # the document's only text is in headings
        first = orphans[0]
        only = ExtractedSection(first.title, first.level, HEADINGS_ONLY_SIGNAL,
                                reason="the document's only text is in headings")
        for orphan in orphans:
            _absorb(only, orphan)
        kept.append(only)
    return kept


def _has_text_below(sections: list[ExtractedSection], index: int) -> bool:
    """A deeper heading follows directly, and some section under it has text: then this heading is
    their parent (a parent with nothing under it would hide its title)."""
    level = sections[index].level
    for later in sections[index + 1:]:
        if later.level <= level:
            return False
        if later.text:
            return True
    return False


def _heading_block(section: ExtractedSection) -> int | None:
    return next((b for b, start, _ in section.anchors if start < 0), None)


def _absorb(into: ExtractedSection, empty: ExtractedSection) -> None:
    """An empty heading becomes the last line of the section before it."""
    if empty.signal != "preamble":
        into.add_line(empty.raw_title or empty.title, _heading_block(empty))


MERGED_TAIL_SIGNAL = "merged_tail"


def cap_sections(sections: list[ExtractedSection], max_sections: int | None) -> list[ExtractedSection]:
    """At most ``max_sections`` sections: the last one kept apart is followed by one section holding
    every section after it, each title kept as a line of its text, so no text is lost. A document
    that splits into tens of thousands of sections would otherwise become as many rows and, on
    "Analyse all", as many model jobs."""
    if not max_sections or len(sections) <= max_sections:
        return sections
    kept, tail = sections[:max_sections - 1], sections[max_sections - 1:]
    merged = ExtractedSection(
        title=f"Remaining text (sections {max_sections} to {len(sections)}, merged)", level=1,
        signal=MERGED_TAIL_SIGNAL,
    )
    parts: list[str] = []
    length = 0
    for section in tail:
        lines = [] if section.signal == "preamble" else [(section.title, None)]
        lines.append((section.text, section))
        for text, source in lines:
            if not text:
                continue
            if parts:
                parts.append("\n")
                length += 1
            if source is None:  # the title line: its heading block is not part of the text
                merged.anchors += [[b, -1, 0] for b, start, _ in section.anchors if start < 0]
            else:
                merged.anchors += [[b, start + length, n] for b, start, n in section.anchors if start >= 0]
            parts.append(text)
            length += len(text)
    merged.text = "".join(parts)
    return kept + [merged]
