"""Precision and recall of the offline rules reviewer on the labelled passages in
tests/review/rules_cases.py, per rule and overall. Prints JSON.

    python -m bench.rules [--misses]

The first batch (CASES) was used to tune the rules; the second and third (HELD_OUT, HELD_OUT_2) were
labelled before the reviewer was first run on them, and their figures are printed separately as well.

A raised item counts as a true positive when it matches an expected finding of the same rule whose
fragment is in its quote (document-level items have no quote); every other raised item is a false
positive, and every expected finding left unmatched is a false negative.
"""
from __future__ import annotations

import argparse
import json

from app.review.rules import RULES, review_section
from tests.review.rules_cases import CASES, HELD_OUT, HELD_OUT_2

ALL_CASES = CASES + HELD_OUT + HELD_OUT_2


def _matches(expected: tuple, item: dict) -> bool:
    rule, fragment = expected
    if item["rule"] != rule:
        return False
    if fragment is None:
        return item["quote"] is None
    return item["quote"] is not None and fragment in item["quote"]


def score_case(case: dict) -> dict:
    """The items raised on one passage, split into matched, unexpected and missed."""
    items = review_section(case["title"], case["text"], case["titles"], case["first"])
    unmatched = list(items)
    missed = []
    for expected in case["expect"]:
        hit = next((i for i in unmatched if _matches(expected, i)), None)
        if hit is None:
            missed.append(expected)
        else:
            unmatched.remove(hit)
    broken = [(rule, fragment) for rule, fragment in case["must_not"]
              for i in items if i["rule"] == rule and (fragment is None or (i["quote"] and fragment in i["quote"]))]
    return {"items": items, "false_positives": unmatched, "missed": missed, "must_not_broken": broken}


def evaluate(cases: list[dict] = ALL_CASES) -> dict:
    """Per-rule and overall precision/recall, and the cases where anything went wrong."""
    counts = {rule: {"tp": 0, "fp": 0, "fn": 0} for rule in RULES}
    problems = []
    for case in cases:
        result = score_case(case)
        for item in result["items"]:
            counts[item["rule"]]["fp" if item in result["false_positives"] else "tp"] += 1
        for rule, _ in result["missed"]:
            counts[rule]["fn"] += 1
        if result["false_positives"] or result["missed"] or result["must_not_broken"]:
            problems.append({"case": case["name"],
                             "false_positives": [(i["rule"], i["quote"]) for i in result["false_positives"]],
                             "missed": result["missed"], "must_not_broken": result["must_not_broken"]})

    def ratios(c: dict) -> dict:
        raised, wanted = c["tp"] + c["fp"], c["tp"] + c["fn"]
        return {**c, "precision": round(c["tp"] / raised, 3) if raised else None,
                "recall": round(c["tp"] / wanted, 3) if wanted else None}

    total = {k: sum(c[k] for c in counts.values()) for k in ("tp", "fp", "fn")}
    return {"cases": len(cases), "expected_findings": total["tp"] + total["fn"],
            "overall": ratios(total), "rules": {rule: ratios(c) for rule, c in counts.items()}, "problems": problems}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="also list the cases with a false positive or a miss")
    args = parser.parse_args(argv)
    report = evaluate()
    report["held_out"] = []
    for batch, note in ((HELD_OUT, "second batch, labelled before the reviewer was first run on it (the rules changed after)"),
                        (HELD_OUT_2, "third batch, labelled before the reviewer was first run on it (one acronym added after)")):
        figures = evaluate(batch)
        report["held_out"].append({"cases": figures["cases"], "overall": figures["overall"], "note": note})
    if not args.misses:
        report["problems"] = len(report["problems"])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
