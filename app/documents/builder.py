"""Assemble sections from a document's blocks in reading order, keeping anchors from every block to
its place in the section text so quotes can later be mapped back to the source."""
from __future__ import annotations

from dataclasses import dataclass, field

from app.text_hygiene import xml_safe

PREAMBLE_TITLE = "Preamble"


@dataclass
class ExtractedSection:
    title: str
    level: int
    signal: str
    text: str = ""
    # [block index in the source, start offset in ``text``, length]
    anchors: list[list[int]] = field(default_factory=list)

    @property
    def first_block(self) -> int | None:
        return self.anchors[0][0] if self.anchors else None

    @property
    def last_block(self) -> int | None:
        return self.anchors[-1][0] if self.anchors else None

    def to_dict(self) -> dict:
        return {
            "title": self.title, "level": self.level, "signal": self.signal, "text": self.text,
            "char_count": len(self.text), "first_block": self.first_block, "last_block": self.last_block,
        }


class SectionBuilder:
    """Feed headings and text blocks in reading order; ``finish`` returns the sections."""

    def __init__(self) -> None:
        self.sections: list[ExtractedSection] = []
        self._parts: list[str] = []
        self._length = 0
        self._heading_block: int | None = None

    def _close(self) -> None:
        if self.sections:
            self.sections[-1].text = "".join(self._parts)
        self._parts, self._length = [], 0

    def heading(self, title: str, level: int, signal: str, block: int | None = None) -> None:
        self._close()
        title = xml_safe(title)
        section = ExtractedSection(title=title.strip()[:1000] or "Untitled", level=max(1, min(level, 9)), signal=signal)
        if block is not None:
            section.anchors.append([block, -1, 0])  # the heading itself; -1: not part of the text
        self.sections.append(section)

    def text(self, text: str, block: int) -> None:
        # Cleaned per block, before offsets are taken, so anchors match the stored text.
        text = xml_safe(text).strip("\n")
        if not text.strip():
            return
        if not self.sections:
            self.sections.append(ExtractedSection(PREAMBLE_TITLE, 1, "preamble"))
        if self._parts:
            self._parts.append("\n")
            self._length += 1
        self.sections[-1].anchors.append([block, self._length, len(text)])
        self._parts.append(text)
        self._length += len(text)

    @property
    def current_signal(self) -> str | None:
        return self.sections[-1].signal if self.sections else None

    def finish(self) -> list[ExtractedSection]:
        self._close()
        return self.sections


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
