"""Sections that no quarter-share link reaches (app.review.alignment): a whole paragraph of theirs still
in the other version, or their heading, keeps them from being called removed or added."""
from __future__ import annotations

from app.review.alignment import align


def para(tag: str, n: int = 10) -> str:
    return " ".join(f"{tag}{k}" for k in range(n)) + "."


def kinds(result):
    return [(g["v1"], g["v2"], g["kinds"]) for g in result["groups"]]


def test_a_section_with_one_whole_paragraph_left_in_another_goes_with_it_not_removed():
    a = [para(f"a{k}") for k in range(5)]  # a[0] is a fifth of A
    b = [para("b", 40)]
    v1 = [("Alpha", "\n".join(a)), ("Beta", "\n".join(b))]
    v2 = [("Beta", "\n".join(b + a[:1]))]  # the rest of A deleted; a[0] is under a quarter of Beta too
    assert kinds(align(v1, v2)) == [([0, 1], [0], ["merged"])]


def test_a_new_section_holding_one_whole_paragraph_of_another_goes_with_it_not_added():
    a = [para(f"a{k}") for k in range(5)]
    fresh = [para(f"n{k}") for k in range(4)]
    v1 = [("Alpha", "\n".join(a))]
    v2 = [("Alpha", "\n".join(a[:4])), ("Fresh", "\n".join(a[4:] + fresh))]
    assert kinds(align(v1, v2)) == [([0], [0, 1], ["split"])]


def test_a_heading_left_over_another_sections_text_is_a_merge_into_it_not_a_removal():
    v1 = [("Alpha", para("a")), ("Beta", para("b"))]
    v2 = [("Alpha", para("b"))]  # Alpha's own words deleted, Beta's text moved under its heading
    assert kinds(align(v1, v2)) == [([0, 1], [0], ["merged"])]


def test_a_paragraph_too_short_to_count_leaves_a_section_removed():
    v1 = [("Alpha", "None.\n" + para("a")), ("Beta", para("b", 40))]
    v2 = [("Beta", para("b", 40) + "\nNone.")]
    assert kinds(align(v1, v2)) == [([0], [], ["removed"]), ([1], [0], ["same"])]
