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
