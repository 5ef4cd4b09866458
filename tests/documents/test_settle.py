"""Property: whatever order headings and text come in, no section is empty and no heading or line of
text is lost (it is a section title, a parent, or a line of some section's text)."""
from hypothesis import given, settings, strategies as st

from app.documents.builder import SectionBuilder

events = st.lists(
    st.one_of(
        st.tuples(st.just("heading"), st.integers(min_value=1, max_value=4)),
        st.tuples(st.just("text"), st.just(0)),
        st.tuples(st.just("title"), st.just(0)),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(events)
def test_no_section_is_empty_and_nothing_is_lost(sequence):
    builder = SectionBuilder()
    headings, lines = [], []
    for block, (kind, level) in enumerate(sequence):
        if kind == "heading":
            title = f"H{block}"
            headings.append(title)
            builder.heading(title, level, "heading_style", block)
        elif kind == "text":
            lines.append(f"line {block}")
            builder.text(lines[-1], block)
        else:
            builder.document_title(f"T{block}", block)
    sections = builder.finish()
    assert all(s.text for s in sections)
    shown_lines = [line for s in sections for line in s.text.split("\n")]
    assert [line for line in shown_lines if line.startswith("line")] == lines  # every line, in order
    placed = {s.title for s in sections} | {p for s in sections for p in s.parents} | set(shown_lines)
    assert set(headings) <= placed or not sections
    if headings or lines:
        assert sections
    for s in sections:  # anchors point at the exact text of each block
        for block, start, length in s.anchors:
            if start >= 0:
                assert s.text[start:start + length] in (f"line {block}", f"H{block}", f"T{block}")
