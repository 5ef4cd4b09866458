"""Aligning two versions of a write-up: sections by their text and titles, then paragraphs, sentences
and words inside aligned sections, and every v1 quote located in v2.

Pure functions over (title, text) pairs: no database, no model. The result is plain JSON, computed
once per revision check and stored (app.review.state.revisions).

How sections are aligned: paragraphs are matched first, identical ones (whitespace folded) by hash
and the rest by word overlap (Jaccard). Two sections are linked when a quarter of either one's text
went to the other; the connected groups of links are the aligned sections, so a renamed or moved
section is one v1 and one v2 section, a split one v1 and several v2, a merged several v1 and one v2.
A section that no such link reaches but whose whole paragraph (of four words or more) is still in the
other version goes with the section holding most of such text, never called removed or added. A v1
section whose text was deleted or rewritten whole is still aligned with the v2 section of the same
title, even when that section holds other text (a merge into it, its own words removed).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from .quotes import verify_quote

LINK_SHARE = 0.25  # of either section's text, for two sections to be aligned
FUZZY_PARAGRAPH = 0.4  # Jaccard of word sets for a rewritten paragraph to count as the same paragraph
TRACE_WORDS = 4  # the fewest words of a matched paragraph that link an otherwise unlinked section
REWRITE = 0.1  # the least word overlap for text in the place of deleted text to count as its rewrite
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+[\"'\u201d\u2019)]*|$)")
_WORD = re.compile(r"\S+|\s+")


@dataclass(frozen=True)
class Para:
    section: int  # index of its section in its version
    index: int  # index among its section's paragraphs
    start: int  # offsets in the section text
    end: int
    key: str  # whitespace folded

    def words(self) -> frozenset:
        return frozenset(self.key.lower().split())


def paragraphs(text: str, section: int = 0) -> list[Para]:
    out, start = [], 0
    for line in text.split("\n"):
        end = start + len(line)
        key = " ".join(line.split())
        if key:
            out.append(Para(section, len(out), start, end, key))
        start = end + 1
    return out


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, leading spaces left out."""
    spans = []
    for match in _SENTENCE.finditer(text):
        start, end = match.start(), match.end()
        while start < end and text[start].isspace():
            start += 1
        if start < end:
            spans.append((start, end))
    return spans


def _jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _title_key(title: str) -> str:
    return " ".join(re.sub(r"^[\d.\s]+", "", title).lower().split())


def match_paragraphs(old: list[Para], new: list[Para]) -> dict[Para, tuple[Para, bool]]:
    """v1 paragraph → (v2 paragraph, identical). Identical text first, in order; then the rest by
    word overlap, best pairs first."""
    free: dict[str, list[Para]] = {}
    for p in new:
        free.setdefault(p.key, []).append(p)
    matched: dict[Para, tuple[Para, bool]] = {}
    taken: set[Para] = set()
    for p in old:
        candidates = free.get(p.key)
        if candidates:
            q = candidates.pop(0)
            matched[p] = (q, True)
            taken.add(q)
    rest_old = [p for p in old if p not in matched]
    rest_new = [q for q in new if q not in taken]
    if rest_old and rest_new:
        words_new = [(q, q.words()) for q in rest_new]
        scored = []
        for p in rest_old:
            wp = p.words()
            for q, wq in words_new:
                if wp & wq:
                    score = _jaccard(wp, wq)
                    if score >= FUZZY_PARAGRAPH:
                        scored.append((-score, p.section, p.index, q.section, q.index, p, q))
        scored.sort(key=lambda s: s[:5])
        for _, _, _, _, _, p, q in scored:
            if p not in matched and q not in taken:
                matched[p] = (q, False)
                taken.add(q)
    return matched


def _groups(v1: list[tuple[str, str]], v2: list[tuple[str, str]], old, new, matched) -> list[dict]:
    size1 = [max(1, sum(p.end - p.start for p in old if p.section == i)) for i in range(len(v1))]
    size2 = [max(1, sum(q.end - q.start for q in new if q.section == j)) for j in range(len(v2))]
    weight: dict[tuple[int, int], int] = {}
    for p, (q, _) in matched.items():
        weight[p.section, q.section] = weight.get((p.section, q.section), 0) + (p.end - p.start)
    links = {(i, j) for (i, j), w in weight.items() if w / size1[i] >= LINK_SHARE or w / size2[j] >= LINK_SHARE}
    # A section none of whose links reach a quarter still has a paragraph of its own on the other side
    # (the rest deleted or rewritten past recognition): it goes with the section holding most of its
    # matched text, never called removed or added while its words are there.
    trace: dict[tuple[int, int], int] = {}
    for p, (q, _) in matched.items():
        if len(p.key.split()) >= TRACE_WORDS:
            trace[p.section, q.section] = trace.get((p.section, q.section), 0) + (p.end - p.start)
    for side in (0, 1):
        linked = {link[side] for link in links}
        best: dict[int, tuple[int, int]] = {}
        for pair, w in trace.items():
            if pair[side] not in linked and (w, -pair[1 - side]) > best.get(pair[side], (0, 0)):
                best[pair[side]] = (w, -pair[1 - side])
        links.update((k, -o) if side == 0 else (-o, k) for k, (_, o) in best.items())
    linked1, linked2 = {i for i, _ in links}, {j for _, j in links}
    by_title: dict[str, list[int]] = {}
    any_title: dict[str, list[int]] = {}
    for j, (title, _) in enumerate(v2):
        any_title.setdefault(_title_key(title), []).append(j)
        if j not in linked2:
            by_title.setdefault(_title_key(title), []).append(j)
    for i, (title, _) in enumerate(v1):
        if i in linked1:
            continue
        key = _title_key(title)
        if by_title.get(key):
            links.add((i, by_title[key].pop(0)))
        elif any_title.get(key):
            # Its text is gone or rewritten past recognition, but its heading still stands over text
            # that came from elsewhere: a merge into it, its own words removed, not a removal.
            links.add((i, any_title[key][0]))
    # connected components over the bipartite links (union-find on ("a", i) / ("b", j))
    parent: dict = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i in range(len(v1)):
        find(("a", i))
    for j in range(len(v2)):
        find(("b", j))
    for i, j in links:
        parent[find(("a", i))] = find(("b", j))
    components: dict = {}
    for node in list(parent):
        components.setdefault(find(node), []).append(node)
    groups = []
    for nodes in components.values():
        groups.append({"v1": sorted(n[1] for n in nodes if n[0] == "a"), "v2": sorted(n[1] for n in nodes if n[0] == "b")})
    groups.sort(key=lambda g: (g["v1"][0] if g["v1"] else len(v1), g["v2"][0] if g["v2"] else -1))
    return groups


def _kinds(groups: list[dict], v1, v2) -> None:
    """Name what happened to each group: same, renamed, moved, split, merged, added, removed."""
    both = [g for g in groups if g["v1"] and g["v2"]]
    order2 = sorted(range(len(both)), key=lambda k: both[k]["v2"][0])
    in_place = set()
    for block in difflib.SequenceMatcher(None, list(range(len(both))), order2, autojunk=False).get_matching_blocks():
        in_place.update(range(block.a, block.a + block.size))
    for k, g in enumerate(both):
        kinds = []
        if len(g["v1"]) > 1 and len(g["v2"]) > 1:
            kinds.append("reorganised")
        elif len(g["v2"]) > 1:
            kinds.append("split")
        elif len(g["v1"]) > 1:
            kinds.append("merged")
        elif _title_key(v1[g["v1"][0]][0]) != _title_key(v2[g["v2"][0]][0]):
            kinds.append("renamed")
        if k not in in_place:
            kinds.append("moved")
        g["kinds"] = kinds or ["same"]
        g["in_place"] = k in in_place
    for g in groups:
        if not g["v2"]:
            g["kinds"], g["in_place"] = ["removed"], False
        elif not g["v1"]:
            g["kinds"], g["in_place"] = ["added"], False


def word_diff(a: str, b: str) -> list[list[str]]:
    """[[op, text], ...] with op "=", "-" (only in a) or "+" (only in b), word by word."""
    wa, wb = _WORD.findall(a), _WORD.findall(b)
    out: list[list[str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(["=", "".join(wa[i1:i2])])
        else:
            if i2 > i1:
                out.append(["-", "".join(wa[i1:i2])])
            if j2 > j1:
                out.append(["+", "".join(wb[j1:j2])])
    return out


def _rows(old: list[Para], new: list[Para], texts1, texts2, matched) -> tuple[list[dict], set[Para]]:
    """The paragraph diff of one group: rows for the side-by-side view; and the v1 paragraphs that sit
    unchanged in their place (inside an "equal" run)."""
    text = lambda p, texts: texts[p.section][p.start:p.end]  # noqa: E731
    rows, steady = [], set()
    ops = difflib.SequenceMatcher(None, [p.key for p in old], [q.key for q in new], autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            steady.update(old[i1:i2])
            rows.extend({"op": "equal", "old": text(p, texts1), "new": text(q, texts2)} for p, q in zip(old[i1:i2], new[j1:j2]))
            continue
        olds, news = old[i1:i2], new[j1:j2]
        pairs = {}
        for p in olds:
            q, same = matched.get(p, (None, False))
            if q in news and not same:
                pairs[p] = q
        used = set(pairs.values())
        # A paragraph deleted where another is inserted, with no better match: a rewrite of it.
        loose = [p for p in olds if p not in matched]
        targets = {t for t, _ in matched.values()} if loose else set()
        for p, q in zip(loose, [q for q in news if q not in targets]):
            if _jaccard(p.words(), q.words()) >= REWRITE:
                pairs[p] = q
                matched[p] = (q, False)
                used.add(q)
        for p in olds:
            if p in pairs:
                a, b = text(p, texts1), text(pairs[p], texts2)
                rows.append({"op": "replace", "old": a, "new": b, "words": word_diff(a, b)})
            else:
                rows.append({"op": "delete", "old": text(p, texts1), "new": ""})
        rows.extend({"op": "insert", "old": "", "new": text(q, texts2)} for q in news if q not in used)
    return rows, steady


def align(v1: list[tuple[str, str]], v2: list[tuple[str, str]]) -> dict:
    """{"groups": [{"v1": [indices], "v2": [indices], "kinds", "in_place", "changed", "rows"}]}; the
    paragraph matching and steady paragraphs are kept on the side for ``locate``."""
    old = [p for i, (_, text) in enumerate(v1) for p in paragraphs(text, i)]
    new = [q for j, (_, text) in enumerate(v2) for q in paragraphs(text, j)]
    matched = match_paragraphs(old, new)
    groups = _groups(v1, v2, old, new, matched)
    _kinds(groups, v1, v2)
    texts1, texts2 = [t for _, t in v1], [t for _, t in v2]
    steady: set[Para] = set()
    of1, of2 = _by_section(old, len(v1)), _by_section(new, len(v2))
    for g in groups:
        rows, still = _rows([p for i in g["v1"] for p in of1[i]], [q for j in g["v2"] for q in of2[j]],
                            texts1, texts2, matched)
        g["rows"] = rows
        g["changed"] = any(r["op"] != "equal" for r in rows) or any(k != "same" for k in g["kinds"])
        steady |= still
    return {"groups": groups, "_old": of1, "_matched": matched, "_steady": steady,
            "_group_of": {i: k for k, g in enumerate(groups) for i in g["v1"]},
            "_counterpart": _counterparts(groups, v1, v2, matched)}


def _by_section(paras: list[Para], sections: int) -> list[list[Para]]:
    out: list[list[Para]] = [[] for _ in range(sections)]
    for p in paras:
        out[p.section].append(p)
    return out


def _counterparts(groups, v1, v2, matched) -> dict[int, int]:
    """Each v1 section's own v2 section in its group: the one of the same title, else the one that
    took most of its text (a split's new part is elsewhere)."""
    weight: dict[tuple[int, int], int] = {}
    for p, (q, _) in matched.items():
        weight[p.section, q.section] = weight.get((p.section, q.section), 0) + (p.end - p.start)
    out = {}
    for g in groups:
        for i in g["v1"]:
            if not g["v2"]:
                continue
            same = [j for j in g["v2"] if _title_key(v2[j][0]) == _title_key(v1[i][0])]
            out[i] = same[0] if same else max(g["v2"], key=lambda j: (weight.get((i, j), 0), -j))
    return out


def public(alignment: dict) -> dict:
    """What is stored: the groups, without the working data."""
    return {"groups": alignment["groups"]}


def locate(alignment: dict, v1: list[tuple[str, str]], v2: list[tuple[str, str]], section: int, start: int | None,
           end: int | None, quote: str | None) -> dict:
    """Where a v1 quote is in v2: {"location": exact|moved|changed|gone|unquoted, "group", "v2_section",
    "start", "end", "new_text"}. exact: the same words in the same paragraph, in its place; moved: the same
    words elsewhere; changed: its sentence was rewritten (``new_text`` is the rewrite); gone: removed."""
    group = alignment["_group_of"].get(section, -1)
    out = {"location": "unquoted", "group": group, "v2_section": None, "start": None, "end": None, "new_text": None}
    text1 = v1[section][1]
    if start is None or end is None or not (0 <= start < end <= len(text1)):
        span = verify_quote(quote, text1) if quote else None
        if span is None:
            return out
        start, end = span
    words = text1[start:end]
    para = next((p for p in alignment["_old"][section] if p.start <= start < max(p.end, p.start + 1)), None)
    hit = alignment["_matched"].get(para) if para else None
    g = alignment["groups"][group] if group >= 0 else {"v2": [], "in_place": False}

    def found(location, j, span, new_text=None):
        out.update(location=location, v2_section=j, start=span[0], end=span[1], new_text=new_text)
        return out

    if hit is not None:
        q, same = hit
        inside = verify_quote(words, v2[q.section][1][q.start:q.end])
        if inside is not None:
            span = (q.start + inside[0], q.start + inside[1])
            steady = (same and para in alignment["_steady"] and g.get("in_place")
                      and alignment["_counterpart"].get(section) == q.section)
            return found("exact" if steady else "moved", q.section, span)
    for j in g["v2"]:  # within its aligned sections, as tolerantly as quotes are checked
        span = verify_quote(words, v2[j][1])
        if span is not None:
            return found("moved", j, span)
    for j in range(len(v2)):  # anywhere else, verbatim (the tolerant search costs a pass over every text)
        at = v2[j][1].find(words) if j not in g["v2"] else -1
        if at >= 0:
            return found("moved", j, (at, at + len(words)))
    if hit is None:
        return found("gone", None, (None, None))
    q, _ = hit
    a = text1[para.start:para.end]
    b = v2[q.section][1][q.start:q.end]
    s1, s2 = sentences(a), sentences(b)
    rel = (start - para.start, end - para.start)
    touched = [k for k, (x, y) in enumerate(s1) if x < rel[1] and y > rel[0]]
    keys1 = [" ".join(a[x:y].split()) for x, y in s1]
    keys2 = [" ".join(b[x:y].split()) for x, y in s2]
    spans = []
    bag = lambda key: frozenset(key.lower().split())  # noqa: E731
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, keys1, keys2, autojunk=False).get_opcodes():
        mine = [k for k in touched if i1 <= k < i2]
        if tag == "equal" or not mine or j2 == j1:
            continue
        # the sentences put in its place that share words with it: its rewrite; none: it was deleted
        words = frozenset().union(*(bag(keys1[k]) for k in mine))
        kept = [j for j in range(j1, j2) if _jaccard(words, bag(keys2[j])) >= REWRITE]
        if kept:
            spans.append((s2[kept[0]][0], s2[kept[-1]][1]))
    if not spans:
        return found("gone", q.section, (None, None))
    x, y = spans[0][0], spans[-1][1]
    return found("changed", q.section, (q.start + x, q.start + y), b[x:y])
