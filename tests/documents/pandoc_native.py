"""Pandoc's reading of a .docx (its .native file) as the list of heading titles, for measuring how
well our extractor finds headings. Only ``Header N`` entries count; pandoc puts Title and Subtitle
in metadata, so they are not headings."""
from __future__ import annotations

import re
from collections import Counter

_TOKEN = re.compile(r'Str\s+"((?:[^"\\]|\\.)*)"|Code\s*\([^)]*\)\s*"((?:[^"\\]|\\.)*)"|\b(Space|SoftBreak|LineBreak)\b'
                    r'|\b(Note)\s*\[|\[|\]')
_ESCAPE = re.compile(r"\\(\d+|&|.)")


def _unescape(text: str) -> str:
    def one(match):
        code = match.group(1)
        if code.isdigit():
            return chr(int(code))
        return {"&": "", "n": "\n", "t": "\t"}.get(code, code)
    return _ESCAPE.sub(one, text)


def _inlines(source: str, start: int) -> tuple[str, int]:
    """The plain text of the inline list opening at source[start] == '[', and where it ends."""
    depth, parts, note_depth, i = 0, [], None, start
    while True:
        match = _TOKEN.search(source, i)
        if match is None:
            return "".join(parts), len(source)
        i = match.end()
        token = match.group(0)
        if match.group(4):  # a footnote inside a heading is not part of its title
            depth += 1
            note_depth = note_depth or depth
        elif token == "[":
            depth += 1
        elif token == "]":
            depth -= 1
            if note_depth and depth < note_depth:
                note_depth = None
            if depth == 0:
                return "".join(parts), i
        elif note_depth:
            continue
        elif match.group(3):
            parts.append(" ")
        else:
            parts.append(_unescape(match.group(1) if match.group(1) is not None else match.group(2)))


_HEADER = re.compile(r"\bHeader\s+(\d+)\s*\(")


def native_headings(source: str) -> list[str]:
    """Heading titles (whitespace-normalised) of a pandoc .native document, in order."""
    titles = []
    for match in _HEADER.finditer(source):
        # Skip the attribute tuple ("id",[classes],[("k","v")]) to the inline list.
        depth, i = 1, match.end()
        while depth:
            ch = source[i]
            if ch == '"':
                i += 1
                while source[i] != '"':
                    i += 2 if source[i] == "\\" else 1
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            i += 1
        text, _ = _inlines(source, source.index("[", i))
        titles.append(" ".join(text.split()))
    return titles


def f1(pairs) -> tuple[float, float, float, dict]:
    """Precision, recall, F1 over (expected titles, found titles) pairs, titles matched as multisets;
    also each file's (missed, extra) for reading the failures."""
    tp = fp = fn = 0
    misses = {}
    for name, expected, found in pairs:
        exp, got = Counter(expected), Counter(" ".join(t.split()) for t in found)
        hit = sum((exp & got).values())
        tp += hit
        fp += sum(got.values()) - hit
        fn += sum(exp.values()) - hit
        if exp != got:
            misses[name] = (sorted((exp - got).elements()), sorted((got - exp).elements()))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, score, misses
