"""The summary's checker (app/review/summary_schema.py) over arbitrary answers: either the whole answer
is refused (OutputInvalid, so the job asks once for a repair and then shows a failure) or what it keeps
holds: a score within 0-100, a known verdict, at least one reason, and key risks and compliance concerns
that point only at the document's items, with those items' own quotes."""
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from app.models import VERDICTS
from app.review.schema import OutputInvalid
from app.review.summary_schema import MAX_ENTRIES, summary_from

ITEMS = {i: SimpleNamespace(id=i, quote=f"quote {i}" if i % 2 else None) for i in (3, 5, 8)}
ids = st.one_of(st.sampled_from([3, 5, 8, 4, 99, -1]), st.text(max_size=3), st.booleans(), st.none())
pointed = st.one_of(st.fixed_dictionaries({"text": st.one_of(st.text(max_size=40), st.none(), st.integers()),
                                           "item_ids": st.one_of(st.lists(ids, max_size=4), st.none(), st.integers())}),
                    st.text(max_size=5), st.integers())
answers = st.fixed_dictionaries({
    "risk_score": st.one_of(st.integers(-5, 120), st.floats(allow_nan=True), st.text(max_size=3), st.booleans(), st.none()),
    "verdict": st.one_of(st.sampled_from(list(VERDICTS) + ["Needs work", "great", ""]), st.integers()),
    "reasons": st.one_of(st.lists(st.one_of(st.text(max_size=30), st.integers(), st.none()), max_size=3), st.text(max_size=3)),
    "key_risks": st.one_of(st.lists(pointed, max_size=12), st.none(), st.text(max_size=3)),
    "compliance_concerns": st.one_of(st.lists(pointed, max_size=3), st.none()),
    "recommendations": st.one_of(st.lists(st.text(max_size=30), max_size=3), st.none()),
})


@settings(max_examples=300, deadline=None)
@given(answers)
def test_every_answer_is_refused_whole_or_kept_grounded(answer):
    try:
        summary = summary_from(answer, ITEMS)
    except OutputInvalid:
        return
    assert 0 <= summary.risk_score <= 100 and summary.verdict in VERDICTS and summary.reasons
    for entry in summary.key_risks + summary.compliance_concerns:
        assert entry["text"] and entry["item_ids"] and set(entry["item_ids"]) <= set(ITEMS)
        assert entry["quotes"] == [ITEMS[i].quote for i in entry["item_ids"] if ITEMS[i].quote]
    assert len(summary.key_risks) <= MAX_ENTRIES


def test_a_score_outside_the_range_or_no_reason_is_refused():
    base = {"risk_score": 50, "verdict": "ready", "reasons": ["r"], "key_risks": [], "compliance_concerns": [], "recommendations": []}
    for broken in ({"risk_score": 101}, {"risk_score": True}, {"verdict": "fine"}, {"reasons": []}, {"reasons": [""]}):
        try:
            summary_from({**base, **broken}, ITEMS)
        except OutputInvalid:
            continue
        raise AssertionError(f"accepted {broken}")
    assert summary_from(base, ITEMS).risk_score == 50
