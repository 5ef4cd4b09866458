"""Properties of the alignment of two versions (app.review.alignment, pure): for random edits of a
random document (sentences rewritten or deleted, paragraphs inserted, sections renamed, moved and
split), every v1 quote is located where the edit put it, and every section whose text was left
alone is aligned to itself alone."""
from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.review.alignment import align, locate

SYLLABLES = "ka lo mi ne ru ta se vi do pa ge lu fo ri ma zen tor bel".split()


class Words:
    """Sentences that never repeat and share no word: each word carries the sentence's counter, spelled
    in syllables; the rest of each word comes from a seeded generator Hypothesis chooses. A rewrite
    keeps some of the old sentence's words, as a reviser does."""

    def __init__(self, rng):
        self.rng, self.n = rng, 0

    def _tag(self) -> str:
        self.n += 1
        n, tag = self.n, ""
        while n:
            tag, n = SYLLABLES[n % len(SYLLABLES)] + tag, n // len(SYLLABLES)
        return tag + "x"

    def _word(self, tag) -> str:
        return tag + "".join(self.rng.choice(SYLLABLES) for _ in range(2))

    def sentence(self) -> str:
        tag = self._tag()
        return " ".join([tag] + [self._word(tag) for _ in range(self.rng.randint(4, 12))]).capitalize() + "."

    def rewrite(self, old: str) -> str:
        tag = self._tag()
        kept = [w for w in old.rstrip(".").lower().split()[1:] if self.rng.random() < 0.6]
        return " ".join([tag] + kept + [self._word(tag) for _ in range(self.rng.randint(1, 4))]).capitalize() + "."


def text(section) -> str:
    return "\n".join(" ".join(p) for p in section[1])


# Derandomized, so a run of the suite is repeatable; HYPOTHESIS_PROFILE=explore draws new examples.
@settings(max_examples=200, deadline=None, derandomize=os.environ.get("HYPOTHESIS_PROFILE") != "explore",
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_random_edits_every_quote_located_and_untouched_sections_aligned_to_themselves(data):
    words = Words(data.draw(st.randoms(use_true_random=False)))
    v1 = []
    for s in range(data.draw(st.integers(2, 7))):
        paragraphs = [[words.sentence() for _ in range(data.draw(st.integers(1, 3)))] for _ in range(data.draw(st.integers(1, 4)))]
        v1.append([f"Section {s} {words.sentence()[:12]}", paragraphs, s])  # title, paragraphs, v1 index
    v2 = [[t, [list(p) for p in ps], i] for t, ps, i in v1]
    fate = {}  # sentence → "same" | "rewritten" | "deleted"
    for _, ps, _ in v1:
        for p in ps:
            for sentence in p:
                fate[sentence] = "same"
    touched = set()
    merges = []
    fragments = set()  # v1 sections split so far
    for _ in range(data.draw(st.integers(0, 6))):
        op = data.draw(st.sampled_from(["rewrite", "delete", "insert", "rename", "move", "split", "merge"]))
        k = data.draw(st.integers(0, len(v2) - 1))
        title, ps, origin = v2[k]
        if op in ("rewrite", "delete") and ps:
            p = data.draw(st.integers(0, len(ps) - 1))
            j = data.draw(st.integers(0, len(ps[p]) - 1))
            old = ps[p][j]
            if fate.get(old) != "same":
                continue
            if op == "rewrite":
                ps[p][j] = words.rewrite(old)
                fate[old] = "rewritten"
            else:
                del ps[p][j]
                fate[old] = "deleted"
                if not ps[p]:
                    del ps[p]
            touched.add(origin)
        elif op == "insert":
            ps.insert(data.draw(st.integers(0, len(ps))), [words.sentence()])
            touched.add(origin)
        elif op == "rename":
            v2[k][0] = f"Renamed {words.sentence()[:12]}"
        elif op == "move":
            v2.insert(data.draw(st.integers(0, len(v2) - 1)), v2.pop(k))
        elif op == "merge" and k + 1 < len(v2) and origin is not None and v2[k + 1][2] is not None:
            merged = v2.pop(k + 1)
            ps.extend(merged[1])
            touched.update({origin, merged[2]})
            # A section split before the merge brings only a part of itself, which may hold less than
            # the quarter of either side that links two sections (a paragraph moved is no merge).
            if not {origin, merged[2]} & fragments:
                merges.append((origin, merged[2]))
        elif op == "split" and len(ps) >= 2 and origin is not None:
            at = data.draw(st.integers(1, len(ps) - 1))
            v2.insert(k + 1, [f"Split {words.sentence()[:12]}", ps[at:], None])
            del ps[at:]
            touched.add(origin)
            fragments.add(origin)
            # Splitting a merged section may undo the merge (the split falls where the two met): the
            # merge is no longer a promise the alignment must keep.
            merges = [(a, b) for a, b in merges if a != origin]
    old = [(t, text((t, ps))) for t, ps, _ in v1]
    new = [(t, text((t, ps))) for t, ps, _ in v2]
    result = align(old, new)

    # every quote located where its edit put it
    for i, (_, ps, _) in enumerate(v1):
        for p in ps:
            for sentence in p:
                where = locate(result, old, new, i, None, None, sentence)
                if fate[sentence] == "same":
                    assert where["location"] in ("exact", "moved"), (sentence, where)
                    assert new[where["v2_section"]][1][where["start"]:where["end"]] == sentence
                elif fate[sentence] == "deleted":
                    assert where["location"] == "gone", (sentence, where)
                else:
                    assert where["location"] in ("changed", "gone"), (sentence, where)
                    if where["location"] == "changed":
                        assert new[where["v2_section"]][1][where["start"]:where["end"]] == where["new_text"]
                        assert where["new_text"] and sentence not in where["new_text"]

    # two sections merged into one are one aligned group, named merged (or reorganised), when each left
    # a trace in the merged section: a paragraph kept whole, or (for the one merged into) its heading.
    # Later edits may delete all of one side's text (nothing then says it was merged rather than
    # removed) or rewrite all of it, and a rewrite need not be recognised (the quotes above may be
    # "gone" after a rewrite): such a merge is no promise the alignment can keep.
    def kept(i):
        return any(all(fate[sentence] == "same" for sentence in p) for p in v1[i][1])

    for a, b in merges:
        into = [t for t, _, o in v2 if o == a]
        if into and (kept(a) or into[0] == v1[a][0]) and kept(b):
            (group,) = [g for g in result["groups"] if a in g["v1"]]
            assert b in group["v1"] and group["kinds"][0] in ("merged", "reorganised"), (a, b, group["v1"], group["v2"])

    # every section whose text was left alone (it may be renamed or moved) is aligned to itself alone
    position = {origin: j for j, (_, _, origin) in enumerate(v2) if origin is not None}
    for i in range(len(v1)):
        if i in touched or not v1[i][1]:
            continue
        (group,) = [g for g in result["groups"] if i in g["v1"]]
        assert group["v1"] == [i] and group["v2"] == [position[i]], (i, group["v1"], group["v2"])
        assert all(row["op"] == "equal" for row in group["rows"])
        if v2[position[i]][0] == v1[i][0] and group["in_place"]:
            assert group["kinds"] == ["same"]
